"""A running `tunebot serve --discord` between the Discord and OpenAI emulators.

discord.py in the bot process connects to the emulator's REST API and gateway (DISCORD_API_URL);
the test acts as the guild's people through the emulator (`post`, `run_command`, `click`,
`submit_modal`, …) and reads what the guild then holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.deployment import FAST_JOBS
from tests.e2e.process import COMMANDS_PER_MINUTE, OPENAI_KEY, BotProcess, free_port
from tests.emulators.discord_emulator import GUILD_ID, DiscordEmulator
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.fixtures.database import temporary_postgresql_database

DISCORD_TOKEN = "MTAxODk0NzU2MzIxNDU2Nzg5MA.GhQx7e.e2eDiscordBotTokenKq7Lw2Xe9Rt4Yu6Io1P"
"""Shaped like a real bot token (user id, timestamp, HMAC), to test log redaction with."""


@dataclass
class DiscordDeployment:
    discord: DiscordEmulator
    openai: OpenAIEmulator
    bot: BotProcess
    database_url: str


def discord_environment(
    *,
    discord: DiscordEmulator,
    openai_base_url: str,
    database_url: str,
    data_dir: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Only what the Discord bot needs: no Slack setting at all, nothing from the shell."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data_dir),
        "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
        "DISCORD_API_URL": discord.base_url,
        "DISCORD_FILE_HOSTS": discord.base_url.split("/")[2],
        "DISCORD_GUILD_IDS": str(GUILD_ID),
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai_base_url,
        "DATABASE_URL": database_url,
        "TUNEBOT_DATA_DIR": str(data_dir),
        "TUNEBOT_MAX_UPLOAD_MB": "5",
        "TUNEBOT_USER_COMMANDS_PER_MINUTE": COMMANDS_PER_MINUTE,
    }
    env.update(extra or {})
    return env


@contextmanager
def running_discord_bot(
    discord: DiscordEmulator,
    openai: OpenAIEmulator,
    database_url: str,
    data_dir: Path,
    env: dict[str, str],
) -> Iterator[BotProcess]:
    """`tunebot serve --discord`, ready once it is healthy and its gateway session is up."""
    process = BotProcess(
        env=discord_environment(
            discord=discord,
            openai_base_url=openai.base_url,
            database_url=database_url,
            data_dir=data_dir,
            extra=env,
        ),
        log_path=data_dir / "tunebot.log",
        port=free_port(),
        serve_args=("--discord",),
    )
    process.start()
    try:
        wait_connected(discord, process)
        yield process
    finally:
        process.stop()


def wait_connected(discord: DiscordEmulator, process: BotProcess, timeout: float = 20) -> None:
    """The bot has a live gateway session and its commands are registered."""
    try:
        discord.wait_for(lambda: discord.bot_ready() and discord.commands(guild=True), timeout)
    except TimeoutError as exc:
        raise TimeoutError(f"the bot never connected to Discord:\n{process.log()}") from exc


@contextmanager
def discord_deployment_with(
    kind: str, data_dir: Path, env: dict[str, str]
) -> Iterator[DiscordDeployment]:
    """Both emulators and one `tunebot serve --discord` on a new database of `kind`."""
    with (
        DiscordEmulator(token=DISCORD_TOKEN) as discord,
        OpenAIEmulator(api_key=OPENAI_KEY, script=FAST_JOBS) as openai,
    ):
        database: AbstractContextManager[str] = (
            nullcontext(f"sqlite:///{data_dir / 'tunebot.db'}")
            if kind == "sqlite"
            else temporary_postgresql_database()
        )
        with (
            database as database_url,
            running_discord_bot(discord, openai, database_url, data_dir, env) as process,
        ):
            yield DiscordDeployment(discord, openai, process, database_url)
