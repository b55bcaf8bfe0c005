"""Building blocks that always fit: sections and context lines cut to Slack's limits.

Text reaching these is already escaped mrkdwn. `verbatim` is set so Slack does not turn words in
user data into links or mentions on its own; explicit `<@U1>` tokens we write still work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from handlers.slack.blocks.limits import MAX_CONTEXT_TEXT, MAX_SECTION_TEXT
from handlers.slack.blocks.text import truncate


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(text, limit), verbatim=True)


def section(text: str) -> SectionBlock:
    return SectionBlock(text=mrkdwn(text))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(text, MAX_CONTEXT_TEXT)])


def text_size(value: object) -> int:
    """Characters of text in a block (or a list of them): what the message budget counts."""
    if isinstance(value, Mapping):
        return sum(
            len(item) if key == "text" and isinstance(item, str) else text_size(item)
            for key, item in value.items()
        )
    if isinstance(value, Sequence) and not isinstance(value, str):
        return sum(text_size(item) for item in value)
    return 0


def to_dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """The JSON Slack wants; `to_dict` also runs slack_sdk's own limit checks."""
    return [block.to_dict() for block in blocks]
