"""Hostile input, end to end: what does not come from Slack, what comes twice, what floods.

Requests that do not come from Slack are turned away before anything is written; requests that
do, sent again, run once; one person's flood is cut at the limit while others carry on; and
whatever goes wrong, the bot's log never shows a credential.

Where each hostile case is covered:

- bad signature, stale timestamp, forged button click: here (refused with 401, nothing written);
- replayed requests (same body, same signature, within Slack's five minutes): here, for a slash
  command, an event and a button click; Slack's own retries: `test_intake.py`;
- a download redirected off Slack's file host: `test_intake.py`
  (`test_a_download_redirected_off_slack_is_refused_and_the_token_kept`);
- a download answered with an HTML login page: `test_intake.py`
  (`test_a_download_answered_with_a_login_page_asks_for_files_read`);
- an oversize file: `test_intake.py` (`test_an_oversize_file_is_answered_without_being_downloaded`,
  by its declared size); the cap while streaming a file larger than declared:
  `tests/slack/test_download.py`;
- an XLSX zip bomb: here (its parsing guard in `tests/datasets/test_tabular.py`);
- a flood of commands and clicks from one person: here (the limiter in `tests/slack/test_flood.py`);
- secrets in log lines: here, and every bot log of the session is searched for the suite's
  credentials after the last test (`tests/e2e/conftest.py`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.redaction import MARK
from tests.datasets.builders import zip_bomb
from tests.e2e.helpers import (
    FIX_ACTION,
    JOB_CREATE,
    START_ACTION,
    Shared,
    Stage,
    buttons,
    chat_jsonl,
    dataset_id,
    everything_said,
    post_signed,
    prompt_completion_csv,
    stays,
)
from tests.e2e.process import OPENAI_KEY, BotProcess
from tests.e2e.test_follow import FROZEN, start_job
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.emulators.slack_emulator import ALICE, BOB, Delivery, Message, SlackEmulator

FIVE_MINUTES = 5 * 60


def shared_unheard(stage: Stage) -> tuple[Shared, bytes]:
    """A file shared while Slack did not tell the app, and the event that would have told it."""
    stage.slack.app_url = None
    shared = stage.share("train.jsonl", chat_jsonl())
    stage.slack.app_url = stage.bot.events_url
    event = {
        "type": "message",
        "subtype": "file_share",
        "channel": stage.channel,
        "channel_type": "channel",
        "user": ALICE,
        "ts": shared.ts,
        "text": "",
        "files": [shared.file],
        "upload": False,
    }
    envelope = {
        "token": "unused",
        "team_id": stage.slack.team_id,
        "api_app_id": stage.slack.app_id,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "event": event,
    }
    return shared, json.dumps(envelope).encode()


def assert_turned_away_then_accepted(
    stage: Stage, shared: Shared, body: bytes, refused: httpx.Response, tasks_before: int
) -> None:
    """`refused` got 401 and nothing was written or fetched; the same body properly signed then
    gets its report, so the refusal was about the signature and nothing else."""
    assert refused.status_code == 401
    assert stays(
        lambda: (
            stage.task_count() == tasks_before
            and not stage.thread(shared.ts)
            and not stage.downloads_of(shared.file_id)
        )
    )

    accepted = post_signed(stage.bot.events_url, body, secret=stage.slack.signing_secret)

    assert accepted.status_code == 200
    assert stage.report(shared)


def test_a_request_with_a_bad_signature_is_refused_and_enqueues_nothing(stage: Stage):
    shared, body = shared_unheard(stage)
    tasks = stage.task_count()

    refused = post_signed(stage.bot.events_url, body, secret="not-the-signing-secret")

    assert_turned_away_then_accepted(stage, shared, body, refused, tasks)


def test_a_request_with_an_old_timestamp_is_refused(stage: Stage):
    shared, body = shared_unheard(stage)
    tasks = stage.task_count()

    refused = post_signed(
        stage.bot.events_url,
        body,
        secret=stage.slack.signing_secret,
        timestamp=int(time.time()) - FIVE_MINUTES - 60,
    )

    assert_turned_away_then_accepted(stage, shared, body, refused, tasks)


# -- the same signed request, sent again ------------------------------------------------------


def resend(stage: Stage, delivery: Delivery) -> httpx.Response:
    """Send what Slack sent once more, byte for byte: same body, same timestamp and signature,
    no retry headers. Within five minutes of its timestamp Bolt cannot tell it from the first."""
    headers = {
        name: delivery.headers[name]
        for name in ("Content-Type", "X-Slack-Request-Timestamp", "X-Slack-Signature")
    }
    return httpx.post(stage.bot.events_url, content=delivery.body.encode(), headers=headers)


def test_a_replayed_slash_command_starts_one_job(stage: Stage):
    shared = stage.share("train.jsonl", chat_jsonl())
    assert stage.command(f"start {dataset_id(stage.report(shared))}")[0] == 200
    stage.replies(shared.ts, count=2)
    [sent] = [d for d in stage.deliveries() if d.kind == "command"]
    tasks = stage.task_count()

    again = resend(stage, sent)

    assert again.status_code == 200, "a replay inside the window passes the signature check"
    assert stays(
        lambda: (
            len(stage.provider_calls(*JOB_CREATE)) == 1
            and len(stage.thread(shared.ts)) == 2
            and stage.task_count() == tasks
        ),
        seconds=1.0,
    ), "the command's trigger_id is its task's key: the replay found it taken"


def test_a_replayed_event_is_reported_once(stage: Stage):
    content = chat_jsonl()
    shared = stage.share("again.jsonl", content)
    stage.report(shared)
    sent = [d for d in stage.deliveries() if d.kind == "event" and shared.file_id in d.body]
    assert sent

    assert [resend(stage, delivery).status_code for delivery in sent] == [200] * len(sent)

    assert stays(lambda: len(stage.thread(shared.ts)) == 1, seconds=1.0)
    assert stage.datasets_with(content) == 1
    assert len(stage.downloads_of(shared.file_id)) == 1


def test_a_replayed_button_click_fixes_once(stage: Stage):
    shared = stage.share("legacy.csv", prompt_completion_csv(20))
    assert stage.click(stage.report(shared), FIX_ACTION)[0] == 200
    stage.replies(shared.ts, count=3)
    [click] = [d for d in stage.deliveries() if d.kind == "interaction"]
    uploads = len(stage.slack.uploaded_files)

    assert resend(stage, click).status_code == 200

    assert stays(
        lambda: len(stage.thread(shared.ts)) == 3 and len(stage.slack.uploaded_files) == uploads,
        seconds=1.0,
    )


# -- a button click that Slack did not send ---------------------------------------------------


def click_unheard(stage: Stage, message: Message, action_id: str) -> bytes:
    """The body Slack would send for a click, captured on its way to a path the app does not
    serve: a click the app never saw."""
    stage.slack.app_url = f"{stage.bot.url}/not-the-events-url"
    try:
        status, _ = stage.click(message, action_id)
    finally:
        stage.slack.app_url = stage.bot.events_url
    assert status == 404
    [click] = [d for d in stage.deliveries() if d.kind == "interaction"]
    return click.body.encode()


def test_a_click_with_a_forged_signature_is_refused_and_enqueues_nothing(stage: Stage):
    shared = stage.share("legacy.csv", prompt_completion_csv(20))
    body = click_unheard(stage, stage.report(shared), FIX_ACTION)
    tasks = stage.task_count()
    form = "application/x-www-form-urlencoded"

    forged = post_signed(
        stage.bot.events_url, body, secret="not-the-signing-secret", content_type=form
    )

    assert forged.status_code == 401
    assert stays(lambda: stage.task_count() == tasks and len(stage.thread(shared.ts)) == 1)
    genuine = post_signed(
        stage.bot.events_url, body, secret=stage.slack.signing_secret, content_type=form
    )
    assert genuine.status_code == 200
    stage.replies(shared.ts, count=3)  # the fixed file and its report: the body itself was fine


# -- hostile files ------------------------------------------------------------------------------


def test_an_xlsx_zip_bomb_is_refused_without_being_unpacked(stage: Stage, tmp_path: Path):
    bomb = zip_bomb(tmp_path).read_bytes()
    assert len(bomb) < 100_000, "small enough to pass the upload limit"

    report = stage.report(stage.share("data.xlsx", bomb))

    said = everything_said(report)
    assert "unsafe_file" in said and "compressed" in said, said
    assert START_ACTION not in buttons(report)


# -- one's own process: the real limit, a follower that polls -----------------------------------


@pytest.fixture
def own(
    slack: SlackEmulator, openai_api: OpenAIEmulator, bot: BotProcess, database_url: str
) -> Iterator[Stage]:
    """A stage of a process of this test's own (the `bot` fixture, with the test's settings)."""
    stage = Stage(slack=slack, openai=openai_api, bot=bot, database_url=database_url).begin()
    try:
        yield stage
    finally:
        stage.close()


FLOOD_LIMIT = 20


@pytest.mark.parametrize(
    "bot", [{"TUNEBOT_USER_COMMANDS_PER_MINUTE": str(FLOOD_LIMIT)}], indirect=True
)
def test_a_flood_from_one_person_runs_only_the_limit_and_others_carry_on(own: Stage):
    shared = own.share("legacy.csv", prompt_completion_csv(20))
    report = own.report(shared)
    tasks = own.task_count()

    answers = [own.command("models") for _ in range(30)]

    assert {status for status, _ in answers} == {200}
    assert not any("Slow down" in body for _, body in answers[:FLOOD_LIMIT])
    refused = [body for _, body in answers[FLOOD_LIMIT:]]
    assert all("Slow down" in body and "Try again in" in body for body in refused), refused

    def listings(user: str) -> list[str]:
        return [
            str(post.body.get("text"))
            for post in own.response_posts()
            if post.user == user and "Base models" in str(post.body.get("text"))
        ]

    own.slack.wait_for(lambda: len(listings(ALICE)) >= FLOOD_LIMIT, timeout=15)
    assert stays(lambda: len(listings(ALICE)) == FLOOD_LIMIT and own.task_count() == tasks + 20)

    assert own.click(report, FIX_ACTION)[0] == 200
    assert own.click(report, FIX_ACTION)[0] == 200
    told = own.ephemeral("Slow down")
    assert "Try again in" in told.text
    assert stays(lambda: own.task_count() == tasks + 20 and len(own.thread(shared.ts)) == 1)
    assert len([e for e in own.ephemerals(ALICE) if "Slow down" in e.text]) == 1, "told once"

    status, body = own.command("models", user=BOB)
    assert status == 200 and "Slow down" not in body
    assert own.click(report, FIX_ACTION, user=BOB)[0] == 200
    own.slack.wait_for(lambda: listings(BOB), timeout=10)
    own.replies(shared.ts, count=3)  # Bob's fix ran
    assert own.task_count() == tasks + 22


# -- credentials in the log -------------------------------------------------------------------


LISTING = r"/v1/fine_tuning/jobs"


@pytest.mark.parametrize("bot", [{"TUNEBOT_POLL_SECONDS": "1"}], indirect=True)
def test_an_error_that_echoes_the_api_key_is_logged_with_the_key_masked(own: Stage):
    """A gateway in front of OpenAI that answers 401 with the key it was sent, whole (OpenAI
    itself, and so the emulator's own 401, shows only a few characters of it): the follower's
    next poll fails and logs the error with its traceback, key masked."""
    start_job(own, FROZEN)
    echoed = f"Incorrect API key provided: {OPENAI_KEY} (Authorization: Bearer {OPENAI_KEY})"
    own.openai.inject(
        LISTING,
        status=401,
        method="GET",
        body={
            "error": {
                "message": echoed,
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        },
    )

    own.slack.wait_for(lambda: "follow tick failed" in own.log(), timeout=10)

    logged = own.log()
    masked = f"Incorrect API key provided: sk-proj-{MARK} (Authorization: Bearer sk-proj-{MARK})"
    assert masked in logged, logged
    assert "Traceback (most recent call last)" in logged
    assert OPENAI_KEY not in logged and OPENAI_KEY[-16:] not in logged
