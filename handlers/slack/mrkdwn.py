"""Model Markdown as Slack mrkdwn (cutting it at Slack's limits is `handlers.common.splitting`).

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

from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from handlers.slack.blocks.text import code, escape_mrkdwn

_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
"""`html` off: tags a model writes are shown as text, never passed through."""

_BULLETS = ("•", "◦", "▪")
_RULE = "──────────"


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
