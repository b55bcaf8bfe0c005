"""OpenAI's webhooks tell the bot a job ended at once, without waiting for the next poll.

The module's deployment polls only every five minutes and shares a webhook secret with the
OpenAI emulator, which posts each job's ending, signed, to `POST /openai/webhooks`: a notice that
arrives within seconds came by webhook. Deliveries the bot cannot verify change nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.deployment import FAST_JOBS, Deployment
from tests.e2e.helpers import Stage, call_failed, everything_said, stays
from tests.e2e.test_follow import (
    DATABASES,
    FROZEN,
    QUIET_SECONDS,
    deployment_with,
    notices,
    start_job,
    the_notice,
)
from tests.emulators.openai.signing import new_secret

SECRET = new_secret()
"""The secret OpenAI's dashboard shows when a webhook endpoint is created."""
LONG_POLL = {"TUNEBOT_POLL_SECONDS": "300", "OPENAI_WEBHOOK_SECRET": SECRET}
WEBHOOK_LATENCY = 2.0
"""A job's end must be told this soon after it happens."""


@pytest.fixture(scope="module", params=DATABASES)
def hooked_deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    data_dir = tmp_path_factory.mktemp("webhooks")
    with deployment_with(request.param, data_dir, LONG_POLL) as deployment:
        deployment.openai.webhook_secret = SECRET
        deployment.openai.webhook_url = f"{deployment.bot.url}/openai/webhooks"
        yield deployment


@pytest.fixture
def hooked(hooked_deployment: Deployment, request: pytest.FixtureRequest) -> Iterator[Stage]:
    """A fresh channel of the module's deployment; emulator knobs are put back after the test."""
    stage = Stage(
        slack=hooked_deployment.slack,
        openai=hooked_deployment.openai,
        bot=hooked_deployment.bot,
        database_url=hooked_deployment.database_url,
    ).begin()
    try:
        yield stage
    finally:
        hooked_deployment.openai.webhook_duplicate = False
        hooked_deployment.openai.script = FAST_JOBS
        stage.close()
        if call_failed(request):
            print(stage.log())


def webhook_body(provider_id: str, event: str = "fine_tuning.job.succeeded") -> bytes:
    """An event as OpenAI sends it for a job's ending."""
    return json.dumps(
        {
            "id": f"evt_{provider_id[-12:]}",
            "object": "event",
            "created_at": int(time.time()),
            "type": event,
            "data": {"id": provider_id},
        },
        separators=(",", ":"),
    ).encode()


def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    sent = {"content-type": "application/json", **headers}
    return httpx.post(f"{url}/openai/webhooks", content=body, headers=sent, timeout=10)


def test_a_job_ending_is_told_within_two_seconds_by_webhook(hooked: Stage):
    started = start_job(hooked, FROZEN)
    hooked.openai.set_status(started.provider_id, "running")
    retrieve = f"/v1/fine_tuning/jobs/{started.provider_id}"
    ended_at = time.time()

    hooked.openai.finish(started.provider_id)

    hooked.slack.wait_for(lambda: notices(hooked, started), timeout=WEBHOOK_LATENCY)
    assert "succeeded" in everything_said(the_notice(hooked, started))
    deliveries = [d for d in hooked.openai.webhook_deliveries if d.job_id == started.provider_id]
    assert [(d.type, d.status) for d in deliveries] == [("fine_tuning.job.succeeded", 200)]
    assert hooked.openai.count("GET", retrieve, since=ended_at) >= 1, (
        "the bot reads the job the webhook named"
    )


def test_a_webhook_delivered_twice_gives_one_notice(hooked: Stage):
    started = start_job(hooked, FROZEN)
    hooked.openai.set_status(started.provider_id, "running")
    hooked.openai.webhook_duplicate = True

    hooked.openai.finish(started.provider_id)

    hooked.slack.wait_for(lambda: notices(hooked, started), timeout=WEBHOOK_LATENCY)
    deliveries = hooked.slack.wait_for(
        lambda: [
            d
            for d in hooked.openai.webhook_deliveries
            if d.job_id == started.provider_id and d.status == 200
        ][1:],
        timeout=5,
    )
    assert len(deliveries) == 1, "both deliveries were accepted"
    assert "succeeded" in everything_said(the_notice(hooked, started))


def test_deliveries_that_fail_verification_are_refused_and_change_nothing(hooked: Stage):
    started = start_job(hooked, FROZEN)
    openai = hooked.openai
    openai.set_status(started.provider_id, "running")
    retrieve = f"/v1/fine_tuning/jobs/{started.provider_id}"
    body = webhook_body(started.provider_id)
    stored = hooked.job_row(started.job).status
    since = time.time()
    forged = {
        "signed with another secret": openai.sign_webhook(body, secret=new_secret()),
        "an hour old": openai.sign_webhook(body, timestamp=int(time.time()) - 3600),
        "unsigned": {},
        "body changed after signing": openai.sign_webhook(body.replace(b"}}", b', "x": 1}}')),
    }

    answers = {why: post_webhook(hooked.bot.url, body, headers) for why, headers in forged.items()}

    assert {why: r.status_code for why, r in answers.items()} == dict.fromkeys(forged, 400)
    assert stays(lambda: openai.count("GET", retrieve, since=since) == 0, seconds=QUIET_SECONDS)
    assert hooked.job_row(started.job).status == stored
    assert notices(hooked, started) == []
    genuine = post_webhook(hooked.bot.url, body, openai.sign_webhook(body))
    assert genuine.status_code == 200, "the same body, signed right, is accepted"
    hooked.slack.wait_for(lambda: openai.count("GET", retrieve, since=since) >= 1, timeout=5)


def test_without_a_webhook_secret_there_is_no_webhook_route(stage: Stage):
    """The suite's shared deployment has no OPENAI_WEBHOOK_SECRET."""
    body = webhook_body("ftjob-abc123")

    answer = post_webhook(stage.bot.url, body, stage.openai.sign_webhook(body))

    assert answer.status_code == 404
