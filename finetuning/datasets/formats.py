"""The three training formats OpenAI accepts, told apart by their top-level keys."""

from __future__ import annotations

from enum import StrEnum


class DatasetFormat(StrEnum):
    """One file trains with one method; the format decides which models and checks apply."""

    CHAT = "chat"
    PREFERENCE = "preference"
    PROMPT_COMPLETION = "prompt_completion"


def detect_format(example: dict[str, object]) -> DatasetFormat | None:
    """The format an example is written in, or None when it looks like none of them.

    Decided per example, so a file that mixes formats can be reported line by line.
    """
    if "messages" in example:
        return DatasetFormat.CHAT
    if "input" in example or "preferred_output" in example or "non_preferred_output" in example:
        return DatasetFormat.PREFERENCE
    if "prompt" in example or "completion" in example:
        return DatasetFormat.PROMPT_COMPLETION
    return None
