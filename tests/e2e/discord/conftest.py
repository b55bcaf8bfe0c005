"""Fixtures for the Discord end-to-end tests: `tunebot serve --discord` between the Discord and
OpenAI emulators, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

`discord_stage` shares one process per database for the session (starting one costs seconds),
with TUNEBOT_SECRET_KEY set so that a server may set an OpenAI key of its own (a test that sets
one takes it away again);
`discord_bot` is a deployment of a test's own, for tests that restart it or change its settings
(parametrize it indirectly with a dict of extra environment variables).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from finetuning.credentials import new_secret_key
from tests.e2e.deployment import FAST_JOBS
from tests.e2e.discord_deployment import DiscordDeployment, discord_deployment_with
from tests.e2e.helpers import call_failed


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.db)]
)
def shared_discord(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DiscordDeployment]:
    data_dir = tmp_path_factory.mktemp(f"discord-{request.param}")
    env = {"TUNEBOT_POLL_SECONDS": "1", "TUNEBOT_SECRET_KEY": new_secret_key()}
    with discord_deployment_with(request.param, data_dir, env) as found:
        yield found


@pytest.fixture
def discord_stage(
    shared_discord: DiscordDeployment, request: pytest.FixtureRequest
) -> Iterator[DiscordDeployment]:
    """The shared deployment; knobs a test turned are put back after it."""
    try:
        yield shared_discord
    finally:
        shared_discord.openai.clear_faults()
        shared_discord.discord.clear_faults()
        shared_discord.openai.script = FAST_JOBS
        if call_failed(request):
            print(shared_discord.bot.log()[-20000:])
        process = shared_discord.bot.process
        if process is not None and process.poll() is not None:
            pytest.fail(f"tunebot exited with {process.returncode}:\n{shared_discord.bot.log()}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.db)])
def discord_bot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DiscordDeployment]:
    """A deployment of the test's own; `@pytest.mark.discord_env({...})` adds settings."""
    marker = request.node.get_closest_marker("discord_env")
    env = {"TUNEBOT_POLL_SECONDS": "1", **(marker.args[0] if marker else {})}
    data_dir = tmp_path / "bot"
    data_dir.mkdir()
    with discord_deployment_with(request.param, data_dir, env) as found:
        try:
            yield found
        finally:
            if call_failed(request):
                print(found.bot.log()[-20000:])
