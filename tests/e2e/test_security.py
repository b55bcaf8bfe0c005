"""Requests that do not come from Slack are turned away before anything is written."""

from __future__ import annotations

import json
import time
import uuid

import httpx

from tests.e2e.helpers import Shared, Stage, chat_jsonl, post_signed, stays
from tests.emulators.slack_emulator import ALICE

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
