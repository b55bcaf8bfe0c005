"""Slack's message size rules, enforced where Slack enforces them: on the way in.

Answering `msg_too_long` / `invalid_blocks` like Slack is what lets tests prove the app splits
long reports instead of losing them.
"""

from __future__ import annotations

from typing import Any

from tests.emulators.slack.errors import ApiError
from tests.emulators.slack.records import JsonDict

MAX_TEXT_CHARS = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT_CHARS = 3_000
MAX_SECTION_FIELD_CHARS = 2_000
MAX_SECTION_FIELDS = 10
MAX_HEADER_CHARS = 150
MAX_STREAM_MARKDOWN_CHARS = 12_000
MAX_STREAM_MESSAGE_CHARS = 12_000
"""All the markdown one streamed message holds. Undocumented, but real Slack refuses any append
past about 12,000 characters in total with `msg_too_long`."""


def check_text(text: str | None) -> None:
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise ApiError("msg_too_long")


def check_blocks(blocks: Any, *, limit: int = MAX_MESSAGE_BLOCKS) -> list[JsonDict] | None:
    """Validate a blocks argument; return it as a list, or raise Slack's `invalid_blocks`."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise ApiError("invalid_blocks_format")
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"must be less than {limit + 1} items [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        problems.extend(_block_problems(index, block))
    if problems:
        raise ApiError(
            "invalid_blocks",
            errors=problems,
            response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
        )
    return blocks


def _block_problems(index: int, block: JsonDict) -> list[str]:
    where = f"/blocks/{index}"
    if "type" not in block:
        return [f"missing required field: type [json-pointer:{where}]"]
    problems: list[str] = []
    kind = block["type"]
    if kind == "section":
        text = block.get("text")
        if text is None and not block.get("fields"):
            problems.append(f"must provide text or fields [json-pointer:{where}]")
        if isinstance(text, dict) and len(str(text.get("text", ""))) > MAX_SECTION_TEXT_CHARS:
            limit = MAX_SECTION_TEXT_CHARS + 1
            problems.append(
                f"must be less than {limit} characters [json-pointer:{where}/text/text]"
            )
        fields = block.get("fields") or []
        if len(fields) > MAX_SECTION_FIELDS:
            problems.append(f"must be less than 11 items [json-pointer:{where}/fields]")
        for n, item in enumerate(fields):
            if isinstance(item, dict) and len(str(item.get("text", ""))) > MAX_SECTION_FIELD_CHARS:
                pointer = f"{where}/fields/{n}/text"
                problems.append(f"must be less than 2001 characters [json-pointer:{pointer}]")
    elif kind == "header":
        text = block.get("text")
        if isinstance(text, dict) and len(str(text.get("text", ""))) > MAX_HEADER_CHARS:
            pointer = f"{where}/text/text"
            problems.append(f"must be less than 151 characters [json-pointer:{pointer}]")
    return problems
