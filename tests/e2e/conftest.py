"""Fixtures for end-to-end tests: both emulators and the real server between them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET) as emulator:
        yield emulator


@pytest.fixture
def openai_api() -> Iterator[OpenAIEmulator]:
    script = JobScript(validating_s=0.05, queued_s=0.05, steps=5, step_s=0.05)
    with OpenAIEmulator(api_key=OPENAI_KEY, script=script) as emulator:
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
    process = BotProcess(
        env=bot_environment(
            slack_api_url=slack.api_url,
            file_host=slack.file_host,
            openai_base_url=openai_api.base_url,
            database_url=database_url,
            data_dir=data_dir,
            extra=extra,
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
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(process.log())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
