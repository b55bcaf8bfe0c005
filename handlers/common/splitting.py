"""Long text cut into parts a chat platform accepts, code fences kept balanced in each part.

Platform-neutral on purpose: Slack (4,000 characters a message, 3,000 a section) and Discord
(2,000 a message) both need a model's answer cut at a limit, preferably at a paragraph, never
inside a `<url|label>` or `<@mention>` token or an `&amp;` entity, and with a code block that
spans the cut closed at the end of one part and reopened (with its language) at the start of the
next, so each message renders on its own. Nothing here knows a platform; the limits are the
caller's.
"""

from __future__ import annotations

import re

_FENCE_LINE = re.compile(r"^([ \t]*)(`{3,}|~{3,})(.*)$")
_FENCE_ANYWHERE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})", re.MULTILINE)
_TOKEN_REACH = 120
"""How far back a cut at a space looks for the `<` of a link or mention it would break."""
_ENTITY_REACH = len("&amp;")


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at a paragraph, else a line, else a
    space. A part that ends inside a code fence closes it, and the next part reopens it."""
    if limit < 40:
        raise ValueError("limit is too small to hold a fence and some text")
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        head, rest = split_once(rest, limit)
        if head.strip():
            parts.append(head)
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def split_once(text: str, limit: int, *, keep: int = 0) -> tuple[str, str]:
    """The first part of `text` (at most `limit` characters, fences closed) and the rest (fences
    reopened), cut at the best boundary that leaves the first `keep` characters whole.

    `keep` is for a message whose start is already in Slack: its text can only grow, so the cut
    falls in what was not sent yet. Text that fits is all in the first part (a fence it leaves
    open is still closed there and reopened in the rest).
    """
    budget = max(keep, limit - _closer_reserve(text))
    if len(text) <= budget:
        return split_at(text, len(text))
    start = max(keep, _opener_length(text))
    cut, skip = _boundary(text, start, budget)
    return split_at(text, cut, skip=skip, keep=keep)


def fits(text: str, limit: int) -> bool:
    """Whether `text` fits in `limit` characters with room left to close a code fence in it."""
    return len(text) <= limit - _closer_reserve(text)


def split_at(text: str, cut: int, *, skip: int = 0, keep: int = 0) -> tuple[str, str]:
    """`text` divided at `cut` (dropping `skip` separator characters after it): a fence open at the
    cut is closed at the end of the first part and reopened at the start of the second."""
    head, rest = text[:cut], text[cut + skip :]
    fence = _open_fence(head)
    if fence is None:
        trimmed = head.rstrip()
        return (trimmed if len(trimmed) >= keep else head[:keep]), rest.lstrip()
    opener, closer = fence
    newline = "" if not head or head.endswith("\n") else "\n"
    first, _, after = rest.partition("\n")
    if _closes(first, closer):  # the fence closes right after the cut: no need to reopen it
        return f"{head}{newline}{first}", after.lstrip()
    return f"{head}{newline}{closer}", f"{opener}\n{rest}"


def _closes(line: str, closer: str) -> bool:
    marker = closer.strip()
    found = line.strip()
    return len(found) >= len(marker) and found == marker[0] * len(found)


def open_fence(text: str) -> str | None:
    """The line that opened the code fence `text` ends inside, or None."""
    fence = _open_fence(text)
    return fence[0] if fence else None


def _open_fence(text: str) -> tuple[str, str] | None:
    """(opener, closer) of the fence still open at the end of `text`, per CommonMark's rules: a
    fence closes with the same character, at least as long, and nothing after it."""
    opener: str | None = None
    indent = marker = ""
    for line in text.split("\n"):
        match = _FENCE_LINE.match(line)
        if match is None:
            continue
        found_indent, found, info = match.groups()
        if opener is None:
            if found.startswith("`") and "`" in info:
                continue  # inline code such as ```x```, not a fence
            opener, indent, marker = line.rstrip(), found_indent, found
        elif found[0] == marker[0] and len(found) >= len(marker) and not info.strip():
            opener = None
    if opener is None:
        return None
    if len(opener) > 40:
        opener = indent + marker  # a long info string is not worth repeating in every part
    return opener, indent + marker


def _closer_reserve(text: str) -> int:
    """Room kept at the end of a part for the line that closes an open fence."""
    found = _FENCE_ANYWHERE.findall(text)
    return 1 + max(len(match) for match in found) if found else 0


def _opener_length(text: str) -> int:
    """A part that starts by reopening a fence must not be cut right after it: no progress."""
    first = text.split("\n", 1)[0]
    return len(first) + 1 if _FENCE_LINE.match(first) else 0


def _boundary(text: str, start: int, budget: int) -> tuple[int, int]:
    """Where to cut text[start:budget] and how many separator characters to drop: the last
    paragraph break, else line break, else space in the second half of the room; failing that
    anywhere; failing that a hard cut that does not split an `&amp;`."""
    for floor in (start + (budget - start) // 2, start + 1):
        for separator in ("\n\n", "\n"):
            found = text.rfind(separator, floor, budget + len(separator))
            if found >= floor:
                return found, len(separator)
        space = _space_outside_token(text, floor, budget)
        if space >= floor:
            return space, 1
    cut = max(budget, start + 1)
    amp = text.rfind("&", max(start + 1, cut - _ENTITY_REACH), cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    return cut, 0


def _space_outside_token(text: str, floor: int, budget: int) -> int:
    """The last space in text[floor:budget+1] that is not inside `<url|some label>`."""
    end = budget + 1
    while True:
        space = text.rfind(" ", floor, end)
        if space < floor:
            return -1
        opened = text.rfind("<", max(floor, space - _TOKEN_REACH), space)
        if opened != -1 and ">" not in text[opened:space]:
            end = opened
            continue
        return space
