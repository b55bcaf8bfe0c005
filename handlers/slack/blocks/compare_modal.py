"""The **Compare with base** modal: one question, asked of the new model and of its base."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject
from slack_sdk.models.views import View

from handlers.slack.blocks.layout import context
from handlers.slack.blocks.text import code

CALLBACK_ID = "compare_with_base_modal"
QUESTION_BLOCK = "question"
QUESTION_ACTION = "value"
MAX_QUESTION_CHARS = 3000
"""Slack's own cap for a plain-text input; a longer prompt belongs in a file, not a modal."""


def compare_modal(model: str, base_model: str, *, private_metadata: str) -> View:
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=PlainTextObject(text="Compare with base"),
        submit=PlainTextObject(text="Ask both"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=private_metadata,
        blocks=[
            context(f"{code(model)} and {code(base_model)} answer side by side in the thread."),
            InputBlock(
                block_id=QUESTION_BLOCK,
                label=PlainTextObject(text="Question"),
                element=PlainTextInputElement(
                    action_id=QUESTION_ACTION,
                    multiline=True,
                    max_length=MAX_QUESTION_CHARS,
                    placeholder=PlainTextObject(text="What should both models answer?"),
                ),
            ),
        ],
    )


def submitted_question(values: Mapping[str, Any]) -> str | dict[str, str]:
    """The question, or Slack's `errors` map when it is blank."""
    question = str(values.get(QUESTION_BLOCK, {}).get(QUESTION_ACTION, {}).get("value") or "")
    if not question.strip():
        return {QUESTION_BLOCK: "Type a question for both models."}
    return question.strip()
