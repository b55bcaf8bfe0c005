"""Fixtures for end-to-end tests: both emulators and the real server between them.

`bot` (with `slack` and `openai_api`) is a deployment of a test's own, for tests that restart
the process or change its environment. `stage` is a corner of one deployment shared by every
test on the same database: starting `tunebot serve` costs seconds, so the suite starts it once
per database and gives each test a fresh channel instead (see `tests/e2e/helpers.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.deployment import FAST_JOBS, Deployment, deployment_with, running_bot
from tests.e2e.helpers import Stage, call_failed
from tests.e2e.process import (
    BOT_TOKEN,
    OPENAI_KEY,
    SIGNING_SECRET,
    BotProcess,
    leaked_secrets,
)
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.emulators.slack_emulator import SlackEmulator

SLACK_APP_TIMEOUT = 3.0


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log() -> Iterator[None]:
    """After the last test, read the log of every `tunebot serve` the session started for the
    credentials it was given; one found fails the run (as an error in the last test's teardown).

    A fixture rather than a last test module: it runs however the suite is cut (`-k`, one
    module, one test), and as the first session fixture it is torn down last, after every
    process has stopped and written its shutdown lines.
    """
    yield
    leaks = leaked_secrets()
    assert not leaks, "credentials written to a bot log:\n" + "\n".join(leaks)


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET) as emulator:
        yield emulator


@pytest.fixture
def openai_api() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(api_key=OPENAI_KEY, script=FAST_JOBS) as emulator:
        yield emulator


@pytest.fixture
def bot(
    slack: SlackEmulator,
    openai_api: OpenAIEmulator,
    database_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[BotProcess]:
    data_dir = tmp_path / "bot"
    data_dir.mkdir()
    extra = getattr(request, "param", None) or {}
    with running_bot(slack, openai_api, database_url, data_dir, extra) as process:
        try:
            yield process
        finally:
            if call_failed(request):
                print(process.log())


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.db)]
)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One `tunebot serve` per database for the session, between its two emulators.

    Tests here read threads and request logs message by message; a follower polling jobs and
    posting their progress would interleave (it has tests of its own), hence the hour-long poll.
    """
    data_dir = tmp_path_factory.mktemp(f"shared-{request.param}")
    with deployment_with(request.param, data_dir, {"TUNEBOT_POLL_SECONDS": "3600"}) as found:
        yield found


@pytest.fixture
def stage(deployment: Deployment, request: pytest.FixtureRequest) -> Iterator[Stage]:
    """A fresh channel in the shared deployment; knobs a test turned are put back after it."""
    current = Stage(
        slack=deployment.slack,
        openai=deployment.openai,
        bot=deployment.bot,
        database_url=deployment.database_url,
    ).begin()
    try:
        yield current
    finally:
        deployment.openai.clear_faults()
        deployment.slack.clear_faults()
        deployment.openai.script = FAST_JOBS
        deployment.slack.app_timeout = SLACK_APP_TIMEOUT
        deployment.slack.app_url = deployment.bot.events_url
        current.close()
        if call_failed(request):
            print(current.log())
        process = deployment.bot.process
        if process is not None and process.poll() is not None:
            pytest.fail(f"tunebot exited with {process.returncode}:\n{current.log()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
