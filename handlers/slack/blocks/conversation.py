"""What talking to a model looks like in Slack: bindings, reply footers, questions, compare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, SectionBlock

from finetuning.conversations import Binding, TalkError, TalkResult
from handlers.slack.blocks.layout import context, mrkdwn, section, to_dicts
from handlers.slack.blocks.limits import FALLBACK_TEXT_LIMIT, MAX_FIELD_TEXT
from handlers.slack.blocks.text import code, escape_mrkdwn, mention, one_line, truncate
from handlers.slack.mrkdwn import to_mrkdwn

TYPING = "…"
SYSTEM_PREVIEW_CHARS = 80


def binding_summary(binding: Binding) -> str:
    """The binding's settings on one line, or that the API's defaults apply."""
    settings = binding.settings
    parts: list[str] = []
    if settings.system_prompt:
        preview = truncate(one_line(settings.system_prompt), SYSTEM_PREVIEW_CHARS)
        parts.append(f"system prompt “{escape_mrkdwn(preview)}”")
    if settings.temperature is not None:
        parts.append(f"temperature {settings.temperature:g}")
    if settings.max_tokens is not None:
        parts.append(f"at most {settings.max_tokens:,} tokens per reply")
    return " · ".join(parts) if parts else "default settings"


def bindings_status(bindings: list[Binding]) -> str:
    """For `/finetune status`: what answers in this channel and in which of its threads."""
    if not bindings:
        return ":speech_balloon: No model is bound to this channel (`/finetune use MODEL`)."
    lines: list[str] = []
    for binding in bindings:
        place = "this channel" if binding.whole_channel else f"thread {code(binding.thread_ts)}"
        by = f", bound by {mention(binding.created_by)}" if binding.created_by else ""
        lines.append(
            f":speech_balloon: {code(binding.model)} answers in {place}{by} "
            f"({binding_summary(binding)})"
        )
    return "\n".join(lines)


def problem_text(problem: TalkError) -> str:
    """What went wrong and what to do, the same way wherever a reply could not be given."""
    return f":warning: {escape_mrkdwn(problem.message)}\n_{escape_mrkdwn(problem.hint)}_"


def reply_footer(result: TalkResult) -> str:
    """The small print under a reply: which model, what it cost, what was left out."""
    parts = [code(result.model)]
    if result.classification is not None:
        odds = ", ".join(
            f"{code(label.strip() or label)} {probability:.1%}"
            for label, probability in result.classification.probabilities[:3]
        )
        parts.append(f"class {code(result.classification.label.strip())} · {odds}")
    if result.usage is not None:
        parts.append(f"{result.usage.prompt_tokens:,} + {result.usage.completion_tokens:,} tokens")
    if result.finish_reason == "length":
        parts.append("cut off at the token limit")
    if result.dropped_turns:
        noun = "message" if result.dropped_turns == 1 else "messages"
        parts.append(f"{result.dropped_turns} older {noun} left out to fit the context window")
    return " · ".join(parts)


def question_text(user: str, model: str, question: str) -> str:
    """The root message of `/finetune ask`: who asked which model what; the answer goes in its
    thread, where replies continue the conversation."""
    quoted = "\n".join(f"> {escape_mrkdwn(line)}" for line in question.splitlines() or [""])
    return f":speech_balloon: {mention(user)} asked {code(model)}:\n{quoted}"


@dataclass
class Column:
    """One model's side of a comparison, as far as it has got."""

    model: str
    text: str = ""
    done: bool = False
    error: str | None = None
    footer: str = ""

    @property
    def too_long(self) -> bool:
        return len(to_mrkdwn(self.text)) > MAX_FIELD_TEXT - 200


def compare_blocks(
    user: str, question: str, columns: list[Column]
) -> tuple[str, list[dict[str, Any]]]:
    """Both answers side by side (a section's two fields); a long answer is cut here and given
    in full in the thread."""
    fields = []
    for column in columns:
        body = to_mrkdwn(column.text) if column.text else ""
        if column.error:
            body = f"{body}\n:warning: {escape_mrkdwn(column.error)}".strip()
        elif not column.done:
            body = f"{body}{TYPING}"
        elif column.too_long:
            body = truncate(body, MAX_FIELD_TEXT - 240) + "\n_(full answer in the thread)_"
        fields.append(mrkdwn(f"*{code(column.model)}*\n{body}", MAX_FIELD_TEXT))
    quoted = truncate(one_line(question), 500)
    blocks: list[Block] = [
        section(f":scales: {mention(user)} compared on: _{escape_mrkdwn(quoted)}_"),
        SectionBlock(fields=fields),
    ]
    footers = [c.footer for c in columns if c.footer]
    if footers:
        blocks.append(context("\n".join(footers)))
    fallback = truncate(f"Comparison: {one_line(question)}", FALLBACK_TEXT_LIMIT)
    return fallback, to_dicts(blocks)
