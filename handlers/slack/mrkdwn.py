"""Model Markdown as Slack mrkdwn, and long text cut into parts Slack accepts.

Models answer in CommonMark/GFM; a message's `text` speaks mrkdwn (`*bold*`, `<url|label>`, no
headings, no tables). The conversion walks markdown-it-py's syntax tree instead of rewriting with
regular expressions, so code comes through as written and half-finished Markdown (a streamed
answer cut mid-sentence) still renders: an unclosed fence is a code block to the end, closed here.

The PyPI package markdown-to-mrkdwn (0.3.3) was tried and not used: its line-by-line regular
expressions leave `&`, `<` and `>` unescaped (a model writing `<!channel>` would ping everyone),
break links whose URL holds parentheses, rewrite code inside fences that are indented or carry a
language such as `c++`, nest marks Slack cannot show (`*Sub *bold**` for a heading), drop leading
indentation, and its wheel installs a top-level `tests` package that would shadow ours.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from handlers.slack.blocks.text import code, escape_mrkdwn

_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
"""`html` off: tags a model writes are shown as text, never passed through."""

_BULLETS = ("•", "◦", "▪")
_RULE = "──────────"
_FENCE_LINE = re.compile(r"^([ \t]*)(`{3,}|~{3,})(.*)$")
_FENCE_ANYWHERE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})", re.MULTILINE)
_TOKEN_REACH = 120
"""How far back a cut at a space looks for the `<` of a link or mention it would break."""
_ENTITY_REACH = len("&amp;")


@dataclass(frozen=True)
class _Line:
    text: str
    code: bool = False
    """Inside a code block: never indented or quoted, which would change the code."""


def to_mrkdwn(markdown: str) -> str:
    """Slack mrkdwn for a Markdown answer; `&`, `<` and `>` are escaped everywhere.

    Escaping reaches inside code too: Slack decodes the entities there as well, so the code reads
    the same, while a raw `<!here>` or `a<b>c` in a code block could still become a mention or a
    link.
    """
    root = SyntaxTreeNode(_PARSER.parse(markdown))
    lines = _blocks(root.children, tight=False, depth=0)
    return "\n".join(line.text for line in lines).strip("\n")


# -- blocks ----------------------------------------------------------------------------------


def _blocks(nodes: Sequence[SyntaxTreeNode], *, tight: bool, depth: int) -> list[_Line]:
    out: list[_Line] = []
    for node in nodes:
        lines = _block(node, depth)
        if not lines:
            continue
        if out and not tight:
            out.append(_Line(""))
        out.extend(lines)
    return out


def _block(node: SyntaxTreeNode, depth: int) -> list[_Line]:
    kind = node.type
    if kind == "paragraph":
        return [_Line(text) for text in _inline_of(node).split("\n")]
    if kind == "heading":
        title = _inline_of(node, in_bold=True).replace("\n", " ").strip()
        return [_Line(f"*{title}*")] if title else []
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, depth)
    if kind == "blockquote":
        inner = _blocks(node.children, tight=False, depth=depth)
        return [line if line.code else _Line(f"> {line.text}".rstrip()) for line in inner]
    if kind in ("fence", "code_block"):
        return _code_block(node.content.splitlines())
    if kind == "hr":
        return [_Line(_RULE)]
    if kind == "table":
        return _table(node)
    if node.children:
        return _blocks(node.children, tight=False, depth=depth)
    return [_Line(escape_mrkdwn(text)) for text in node.content.splitlines()]


def _code_block(lines: list[str]) -> list[_Line]:
    """Slack shows a language tag as the first line of code, so none is written."""
    if not any(line.strip() for line in lines):
        return []
    body = [_Line(escape_mrkdwn(line), code=True) for line in lines]
    return [_Line("```", code=True), *body, _Line("```", code=True)]


def _list(node: SyntaxTreeNode, depth: int) -> list[_Line]:
    ordered = node.type == "ordered_list"
    start = int(str(node.attrs.get("start", 1))) if ordered else 1
    tight = _is_tight(node)
    out: list[_Line] = []
    for index, item in enumerate(node.children):
        marker = f"{start + index}. " if ordered else f"{_BULLETS[min(depth, 2)]} "
        lines = _blocks(item.children, tight=tight, depth=depth + 1)
        if not any(line.text.strip() for line in lines):
            continue
        if out and not tight:
            out.append(_Line(""))
        if lines[0].code:
            out.append(
                _Line(marker.rstrip())
            )  # an item that starts with code still shows its bullet
        pad = " " * len(marker)
        for n, line in enumerate(lines):
            if line.code:
                out.append(line)
            elif n == 0:
                out.append(_Line(marker + line.text))
            else:
                out.append(_Line(pad + line.text if line.text else ""))
    return out


def _is_tight(node: SyntaxTreeNode) -> bool:
    """markdown-it hides the paragraphs of a tight list; a loose one keeps blank lines."""
    for item in node.children:
        for child in item.children:
            if child.type == "paragraph":
                return bool(child.hidden)
    return True


def _table(node: SyntaxTreeNode) -> list[_Line]:
    """Slack has no tables: a monospaced grid in a code block keeps the columns readable."""
    rows: list[list[str]] = []
    for section in node.children:
        for row in section.children:
            rows.append([_plain(cell).strip() for cell in row.children])
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    widths = [max(len(row[c]) if c < len(row) else 0 for row in rows) for c in range(columns)]
    lines = [
        " | ".join(cell.ljust(widths[c]) for c, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return _code_block(lines)


# -- inline ----------------------------------------------------------------------------------


def _inline_of(block: SyntaxTreeNode, *, in_bold: bool = False) -> str:
    """The text of a paragraph or heading, whose one child is the `inline` node."""
    return "".join(_inline(node, in_bold) for inline in block.children for node in inline.children)


def _inline(node: SyntaxTreeNode, in_bold: bool) -> str:
    kind = node.type
    if kind in ("softbreak", "hardbreak"):
        return "\n"
    if kind == "code_inline":
        return code(node.content)
    if kind in ("link", "image"):
        return _link(node)
    inner = "".join(_inline(child, in_bold or kind == "strong") for child in node.children)
    if kind == "strong":
        return inner if in_bold else _wrap("*", inner)
    if kind == "em":
        return _wrap("_", inner)
    if kind == "s":
        return _wrap("~", inner)
    if node.children:
        return inner
    return escape_mrkdwn(node.content)


def _wrap(mark: str, inner: str) -> str:
    """Slack formats within one line, and only a span whose marks touch text: each line is wrapped
    on its own, with surrounding spaces kept outside the marks."""
    if "\n" in inner:
        return "\n".join(_wrap(mark, line) for line in inner.split("\n"))
    core = inner.strip()
    if not core:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    return f"{lead}{mark}{core}{mark}{trail}"


def _link(node: SyntaxTreeNode) -> str:
    """`<url|label>`: Slack cannot format inside a label, so the label is plain text."""
    url = str(node.attrs.get("href") or node.attrs.get("src") or "")
    label = " ".join(_plain(node).split())
    if not url:
        return escape_mrkdwn(label)
    if not label or label == url:
        return f"<{escape_mrkdwn(url)}>"
    return f"<{escape_mrkdwn(url)}|{escape_mrkdwn(label)}>"


def _plain(node: SyntaxTreeNode) -> str:
    if node.type in ("softbreak", "hardbreak"):
        return " "
    if node.children:
        return "".join(_plain(child) for child in node.children)
    return node.content


# -- splitting -------------------------------------------------------------------------------


def split_for_slack(text: str, limit: int) -> list[str]:
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
