"""The workspace key modal: what the workspace uses now, a field for a new key, the outcome.

Slack has no password input: what an admin pastes is visible in their own modal while they
type, and nowhere else. The key never comes back in any view, message or log line; the modal
says only whether one is set, by whom and when.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject
from slack_sdk.models.views import View

from finetuning.credentials import KeyStatus
from finetuning.credentials.workspace_keys import KeyShapeError, checked_shape
from handlers.common.workspace_key import KeyRefused, KeySaved, refused_text, saved_text
from handlers.slack.blocks.layout import context, section
from handlers.slack.blocks.text import format_count, slack_date

CALLBACK_ID = "workspace_key_modal"
KEY_BLOCK = "openai_key"
KEY_ACTION = "value"
TITLE = "OpenAI key"


def key_modal(
    status: KeyStatus | None, *, operator_key: bool, active_jobs: int, command: str
) -> View:
    """The form: the current state in words, then the field."""
    blocks: list[Any] = [section(_current(status, operator_key=operator_key, command=command))]
    if active_jobs:
        blocks.append(
            context(
                f":warning: {format_count(active_jobs, 'job')} of this workspace "
                f"{'is' if active_jobs == 1 else 'are'} still running. A key of another "
                "OpenAI organization or project cannot see them: they are followed to their "
                "end only if the new key belongs to the same project."
            )
        )
    blocks += [
        InputBlock(
            block_id=KEY_BLOCK,
            label=PlainTextObject(text="New API key"),
            element=PlainTextInputElement(
                action_id=KEY_ACTION,
                max_length=512,
                placeholder=PlainTextObject(text="sk-proj-…"),
            ),
            hint=PlainTextObject(
                text="platform.openai.com → API keys → Create new secret key. It is checked "
                "with OpenAI, then stored encrypted; nobody can read it back."
            ),
        ),
        context(
            "Jobs started from now on, their follow-up, and conversations with models all use "
            "this workspace's key. Datasets are uploaded again under the new account."
        ),
    ]
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=PlainTextObject(text=TITLE),
        submit=PlainTextObject(text="Check and save"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    )


def checking_view_id(view_id: str) -> str:
    """The external id of the "checking" view that replaces the form `view_id`.

    The outcome is shown by this id, not by the view's own: Slack applies the submission's
    `response_action` when it reads our answer, and a task quicker than that would otherwise
    show the outcome first and have it covered by "checking". By this id the outcome can only
    land on the "checking" view (until it exists, Slack answers `not_found`).
    """
    return f"tunebot-key-check-{view_id}"


def checking_view(view_id: str) -> View:
    """What the modal shows while OpenAI is asked whether the key works."""
    view = _notice(":hourglass_flowing_sand: Checking the key with OpenAI…")
    view.external_id = checking_view_id(view_id)
    return view


def saved_view(saved: KeySaved) -> View:
    return _notice(f":white_check_mark: {saved_text(saved, 'workspace')}")


def refused_view(refused: KeyRefused) -> View:
    """The key was not stored: OpenAI's reason (already redacted) and what to do."""
    return _notice(f":x: {refused_text(refused)}\n_{refused.hint}_")


def submitted_key(values: Mapping[str, Any]) -> str | dict[str, str]:
    """The key typed, or Slack's `errors` map saying what is wrong with it."""
    pasted = str(values.get(KEY_BLOCK, {}).get(KEY_ACTION, {}).get("value") or "")
    try:
        return checked_shape(pasted)
    except KeyShapeError as wrong:
        return {KEY_BLOCK: str(wrong)}


def _current(status: KeyStatus | None, *, operator_key: bool, command: str) -> str:
    if status is not None:
        return (
            f"This workspace uses *its own key*, set by <@{status.set_by}> "
            f"{slack_date(status.set_at)}. A new key replaces it; "
            f"`{command} key remove` removes it."
        )
    if operator_key:
        return (
            "This workspace uses *the key of whoever runs tunebot*. Set one of your own to "
            "fine-tune in your own OpenAI organization and pay for it there."
        )
    return "This workspace has *no OpenAI key* yet: nothing can be fine-tuned until one is set."


def _notice(text: str) -> View:
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=PlainTextObject(text=TITLE),
        close=PlainTextObject(text="Close"),
        blocks=[section(text)],
    )
