"""Checks and token counts of single examples, one function per training format."""

from __future__ import annotations

from dataclasses import dataclass

from finetuning.datasets.chat_checks import (
    EXAMPLE_KEYS,
    Report,
    check_messages,
    declared_tool_names,
)
from finetuning.datasets.counting import REPLY_PRIMING, TokenCounter

PREFERENCE_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
PROMPT_COMPLETION_KEYS = frozenset({"prompt", "completion"})
LEGACY_LONG_EXAMPLE_TOKENS = 2048


@dataclass(slots=True)
class PromptCompletionShape:
    """What the dataset-level legacy checks need from one example."""

    prompt: str
    completion: str


def _unknown_keys(example: dict[str, object], allowed: frozenset[str], report: Report) -> None:
    unknown = [key for key in example if key not in allowed]
    if unknown:
        report("unrecognized_key", ", ".join(map(repr, unknown)))


def chat_example(example: dict[str, object], counter: TokenCounter, report: Report) -> int:
    """Check a supervised chat example; return its tokens."""
    _unknown_keys(example, EXAMPLE_KEYS, report)
    declared = declared_tool_names(example, report)
    messages = example.get("messages")
    check_messages(messages, declared, report, require_assistant=True)
    tokens = counter.declarations(example.get("tools")) + counter.declarations(
        example.get("functions")
    )
    return tokens + (counter.messages(messages) if isinstance(messages, list) else 0)


def _single_assistant_message(value: object) -> bool:
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        return False
    message = value[0]
    content = message.get("content")
    has_text = isinstance(content, str) and bool(content)
    return message.get("role") == "assistant" and (has_text or "tool_calls" in message)


def preference_example(example: dict[str, object], counter: TokenCounter, report: Report) -> int:
    """Check a preference (DPO) example; return the tokens of its input and both outputs.

    Both outputs are read by DPO training, so both count; the input is counted once.
    """
    _unknown_keys(example, PREFERENCE_KEYS, report)
    tokens = 0
    source = example.get("input")
    if not isinstance(source, dict) or "messages" not in source:
        report("invalid_preference_input", "")
    else:
        declared = declared_tool_names(source, report)
        messages = source.get("messages")
        check_messages(messages, declared, report, require_assistant=False)
        tokens += counter.declarations(source.get("tools"))
        if isinstance(messages, list):
            tokens += counter.messages(messages)
    preferred = example.get("preferred_output")
    rejected = example.get("non_preferred_output")
    both_valid = True
    for key, value in (("preferred_output", preferred), ("non_preferred_output", rejected)):
        if not _single_assistant_message(value):
            report("invalid_preference_output", key)
            both_valid = False
        elif isinstance(value, list):
            tokens += counter.messages(value) - REPLY_PRIMING
    if both_valid and preferred == rejected:
        report("preference_outputs_equal", "")
    return tokens


def prompt_completion_example(
    example: dict[str, object], counter: TokenCounter, report: Report
) -> tuple[int, PromptCompletionShape | None]:
    """Check a legacy prompt-completion example; return its tokens and its texts."""
    _unknown_keys(example, PROMPT_COMPLETION_KEYS, report)
    prompt = example.get("prompt")
    completion = example.get("completion")
    if not isinstance(prompt, str):
        report("invalid_prompt_completion", '"prompt" must be text')
    if not isinstance(completion, str) or not completion:
        report("invalid_prompt_completion", '"completion" must be non-empty text')
    if not isinstance(prompt, str) or not isinstance(completion, str) or not completion:
        return 0, None
    tokens = counter.text(prompt) + counter.text(completion)
    if not completion[0].isspace():
        report("completion_missing_leading_space", repr(completion[:20]))
    if tokens > LEGACY_LONG_EXAMPLE_TOKENS:
        report("long_example", f"{tokens:,} tokens")
    return tokens, PromptCompletionShape(prompt, completion)
