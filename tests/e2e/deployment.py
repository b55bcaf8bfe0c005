"""A running `tunebot serve` between its two emulators, on a database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.process import (
    BOT_TOKEN,
    OPENAI_KEY,
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
    free_port,
)
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator
from tests.emulators.slack_emulator import SlackEmulator
from tests.fixtures.database import temporary_postgresql_database

FAST_JOBS = JobScript(validating_s=0.05, queued_s=0.05, steps=5, step_s=0.05)
"""Jobs that run to their end in well under a second."""


@dataclass
class Deployment:
    """A running `tunebot serve` between its two emulators, on one database."""

    slack: SlackEmulator
    openai: OpenAIEmulator
    bot: BotProcess
    database_url: str


@contextmanager
def running_bot(
    slack: SlackEmulator,
    openai: OpenAIEmulator,
    database_url: str,
    data_dir: Path,
    env: dict[str, str],
) -> Iterator[BotProcess]:
    """`tunebot serve` pointed at both emulators, with Slack sending it requests."""
    process = BotProcess(
        env=bot_environment(
            slack_api_url=slack.api_url,
            file_host=slack.file_host,
            openai_base_url=openai.base_url,
            database_url=database_url,
            data_dir=data_dir,
            extra=env,
        ),
        log_path=data_dir / "tunebot.log",
        port=free_port(),
    )
    process.start()
    slack.app_url = process.events_url
    try:
        yield process
    finally:
        process.stop()


@contextmanager
def deployment_with(kind: str, data_dir: Path, env: dict[str, str]) -> Iterator[Deployment]:
    """Both emulators and one `tunebot serve` with `env` on a new database of `kind`
    ("sqlite" or "postgresql")."""
    with (
        SlackEmulator(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET) as slack,
        OpenAIEmulator(api_key=OPENAI_KEY, script=FAST_JOBS) as openai,
    ):
        database: AbstractContextManager[str] = (
            nullcontext(f"sqlite:///{data_dir / 'tunebot.db'}")
            if kind == "sqlite"
            else temporary_postgresql_database()
        )
        with (
            database as database_url,
            running_bot(slack, openai, database_url, data_dir, env) as process,
        ):
            yield Deployment(slack, openai, process, database_url)
