"""Checks every rendered message must pass: Slack's limits, and no live markup from user data.

The numbers are Slack's, written out here rather than imported from the code under test, so a
wrong constant there cannot make these checks agree with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION_TEXT = 3000
SLACK_MAX_FIELD_TEXT = 2000
SLACK_MAX_FIELDS = 10
SLACK_MAX_HEADER_TEXT = 150
SLACK_MAX_CONTEXT_ELEMENTS = 10
SLACK_MESSAGE_TEXT_CEILING = 13_000
"""Above about this much text in all, Slack answers `msg_blocks_too_long`."""

_OUR_TOKENS = re.compile(r"<@[UW][A-Z0-9]+>|<!date\^\d+\^[^|<>]+\|[^<>]+>")
_QUOTE = re.compile(r"^> ", re.MULTILINE)
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object inside a block list, depth first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [obj["text"] for obj in walk(blocks) if obj.get("type") == "mrkdwn"]


def all_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(
        obj["text"] for obj in walk(blocks) if obj.get("type") in ("mrkdwn", "plain_text")
    )


def assert_safe_mrkdwn(text: str) -> None:
    """Only the tokens we write ourselves (mentions, dates, quotes) may be live markup."""
    rest = _QUOTE.sub("", _OUR_TOKENS.sub("", text))
    assert "<" not in rest, text
    assert ">" not in rest, text
    assert not _BARE_AMPERSAND.search(rest), text


def assert_message_ok(fallback: str, blocks: list[dict[str, Any]]) -> None:
    """Within every Slack limit, and safe to post."""
    assert 0 < len(blocks) <= SLACK_MAX_BLOCKS
    assert fallback.strip()
    assert_safe_mrkdwn(fallback)
    total = 0
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= SLACK_MAX_SECTION_TEXT
            for field in block.get("fields", []):
                assert len(field["text"]) <= SLACK_MAX_FIELD_TEXT
            assert len(block.get("fields", [])) <= SLACK_MAX_FIELDS
        elif block["type"] == "header":
            assert len(block["text"]["text"]) <= SLACK_MAX_HEADER_TEXT
        elif block["type"] == "context":
            assert len(block["elements"]) <= SLACK_MAX_CONTEXT_ELEMENTS
            for element in block["elements"]:
                assert len(element["text"]) <= SLACK_MAX_SECTION_TEXT
    for text in mrkdwn_texts(blocks):
        assert_safe_mrkdwn(text)
        total += len(text)
    total += sum(len(obj["text"]) for obj in walk(blocks) if obj.get("type") == "plain_text")
    assert total <= SLACK_MESSAGE_TEXT_CEILING
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids))


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    ]
