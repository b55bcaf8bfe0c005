"""`/finetune help`."""

from __future__ import annotations

import discord

from handlers.discord.render.style import BRAND

SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("start [dataset] [model] [epochs] [suffix] [validation] [seed]", "start a job"),
    ("status [job]", "active jobs in this channel, or one job"),
    ("list [all]", "jobs in this channel, or in the whole server"),
    ("cancel job", "cancel a job"),
    ("pause job / resume job", "pause a running job, resume a paused one"),
    ("events job", "OpenAI's latest events for a job"),
    ("models", "base models with prices, and your fine-tuned models"),
    ("delete model", "delete a fine-tuned model"),
    ("budget", "this month's spending for the server and for you"),
    ("audit [entries] [csv]", "admins: the audit log, or its last 90 days as a CSV file"),
    ("key [action: remove]", "admins: set this server's own OpenAI key (a form), or remove it"),
)


def help_embed(command: str) -> discord.Embed:
    lines = [f"`{command} {usage}`: {what}" for usage, what in SUBCOMMANDS]
    embed = discord.Embed(title="tunebot", colour=BRAND, description="\n".join(lines))
    embed.set_footer(
        text="Drop a .jsonl, .json, .csv, .tsv or .xlsx file in a channel: the report comes in "
        "its thread, with a Start fine-tune button."
    )
    return embed
