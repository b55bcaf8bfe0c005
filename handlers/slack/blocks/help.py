"""`/finetune help`: every subcommand on one screen, with the ids people type."""

from __future__ import annotations

from handlers.slack.blocks.text import escape_mrkdwn

_COMMANDS: tuple[tuple[str, str], ...] = (
    (
        "start [DATASET] [model=M] [epochs=N] [suffix=S] [validation=DATASET] [seed=N]",
        "start a fine-tune; blank settings are left to the API",
    ),
    ("status [JOB]", "one job in full, or this channel's active jobs"),
    ("list [all]", "this channel's recent jobs; `all` for every channel's"),
    ("cancel JOB", "stop a job"),
    ("pause JOB", "pause a running job (it keeps its progress)"),
    ("resume JOB", "resume a paused job"),
    ("events JOB", "a job's latest events and training metrics"),
    ("models", "the base models you can train and your fine-tuned models"),
    ("delete MODEL", "delete one of your fine-tuned models"),
    ("budget", "this month's spending: spent, committed and left, for the team and for you"),
    (
        'use MODEL [system="…"] [temperature=T] [max_tokens=N]',
        "bind this channel to a model: mention me to talk to it; `use off` unbinds",
    ),
    ("ask [MODEL] QUESTION [--private]", "one question to a model (default: the bound one)"),
    ("compare MODEL_A MODEL_B QUESTION", "both models answer the same question side by side"),
    ("audit [N|csv]", "admins only: the last N changes (20), or `csv`: 90 days to your DM"),
    ("key [remove]", "admins only: set this workspace's own OpenAI API key, or remove it"),
    ("help", "this message"),
)


def help_text(command: str = "/finetune") -> str:
    """The help message in mrkdwn, for the slash command named `command`."""
    name = escape_mrkdwn(command)
    rows = [f"• `{name} {usage}`: {what}" for usage, what in _COMMANDS]
    return "\n".join(
        [
            "*Fine-tune models from this channel.* Drop a training file here (JSONL, CSV, TSV, "
            "XLSX or JSON) and I reply in its thread with a report and its id.",
            "",
            *rows,
            "",
            "`DATASET` is a dataset id such as `ds-7` (default: the newest valid dataset in this "
            "channel). `JOB` is a job id such as `job-3`, or the provider's `ftjob-…`. "
            "`MODEL` is a model id (`ft:…`), a base model, or a job whose model it means.",
            "In a bound channel, mention me to start a conversation in a thread; replies in that "
            "thread continue it without a mention. Mention me with `use MODEL` inside a thread to "
            "bind just that thread.",
        ]
    )
