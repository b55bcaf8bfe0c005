"""What talking to a model looks like on Discord: bindings, reply small print, problems,
questions and the side-by-side comparison. Discord speaks Markdown, so answers go out as the
model wrote them; only our own framing is written here."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from finetuning.conversations import Binding, TalkError, TalkResult
from handlers.discord.render.limits import MAX_TITLE, cut
from handlers.discord.render.style import BAD, BRAND, OK

SYSTEM_PREVIEW_CHARS = 80
COLUMN_CHARS = 2600
"""Two answers and the framing fit Discord's 6,000 characters for all embeds of a message."""
TYPING = " ▍"


def code(text: str) -> str:
    return f"`{text.replace('`', 'ˋ')}`"


def binding_summary(binding: Binding) -> str:
    settings = binding.settings
    parts: list[str] = []
    if settings.system_prompt:
        preview = cut(" ".join(settings.system_prompt.split()), SYSTEM_PREVIEW_CHARS)
        parts.append(f"system prompt “{preview}”")
    if settings.temperature is not None:
        parts.append(f"temperature {settings.temperature:g}")
    if settings.max_tokens is not None:
        parts.append(f"at most {settings.max_tokens:,} tokens per reply")
    return " · ".join(parts) if parts else "default settings"


def bound_text(user: str, binding: Binding) -> str:
    place = "this thread" if binding.thread_ts else "this channel"
    how = (
        "Reply here to talk to it."
        if binding.thread_ts
        else "Mention me to talk to it; each mention starts a thread."
    )
    return (
        f"🔗 <@{user}> bound {place} to {code(binding.model)}. {how}\n-# {binding_summary(binding)}"
    )


def bindings_status(bindings: list[Binding]) -> str:
    """For `/finetune status`: what answers in this channel and in which of its threads
    (a Discord thread is a channel of its own, so it is linked rather than named)."""
    if not bindings:
        return "💬 No model is bound to this channel (`/finetune use`)."
    lines: list[str] = []
    for binding in bindings:
        place = "this channel" if binding.whole_channel else f"<#{binding.thread_ts}>"
        by = f", bound by <@{binding.created_by}>" if binding.created_by else ""
        lines.append(
            f"💬 {code(binding.model)} answers in {place}{by} ({binding_summary(binding)})"
        )
    return "\n".join(lines)


def unbound_text(user: str, model: str, in_thread: bool) -> str:
    place = "this thread" if in_thread else "this channel"
    return f"⛓️‍💥 <@{user}> unbound {code(model)} from {place}."


def problem_text(problem: TalkError) -> str:
    """What went wrong and what to do, as every front end says it."""
    return f"⚠️ {problem.message}\n*{problem.hint}*"


def reply_footer(result: TalkResult) -> str:
    """Small print (`-#`) under a reply: the model, its cost, what was left out."""
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
    return "-# " + " · ".join(parts)


def question_text(user: str, model: str, question: str) -> str:
    """The channel message of a public `/finetune ask`: its thread holds the answer."""
    quoted = "\n".join(f"> {line}" for line in question.splitlines() or [""])
    return cut(f"💬 <@{user}> asked {code(model)}:\n{quoted}", 2000)


def thread_name(text: str) -> str:
    name = " ".join(text.split()) or "Conversation"
    return cut(name, 90)


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
        return len(self.text) > COLUMN_CHARS


def compare_content(user: str, question: str) -> str:
    return cut(f"⚖️ <@{user}> compared on: *{' '.join(question.split())}*", 2000)


def compare_embeds(columns: list[Column]) -> list[discord.Embed]:
    """Both answers in one message, one embed each titled with its model. Inline fields
    would sit side by side on a desktop, but a field holds 1,024 characters: too few for an
    answer, so each answer gets an embed's description (the two share the 6,000 limit)."""
    embeds: list[discord.Embed] = []
    for column in columns:
        body = column.text
        if column.too_long:
            body = cut(body, COLUMN_CHARS) + (
                "\n*(full answer in the thread)*" if column.done else ""
            )
        if column.error:
            body = f"{body}\n⚠️ {column.error}".strip()
        elif not column.done:
            body += TYPING
        colour = BAD if column.error else (OK if column.done else BRAND)
        embed = discord.Embed(title=cut(column.model, MAX_TITLE), description=body, colour=colour)
        if column.footer:
            embed.set_footer(text=column.footer.removeprefix("-# ").replace("`", ""))
        embeds.append(embed)
    return embeds
