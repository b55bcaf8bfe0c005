"""A crash neither loses nor repeats a job's outcome: every job still gets exactly one notice.

`tunebot serve` is killed with SIGKILL (no shutdown code runs) and started again on the same
database, while jobs train and while a notice is on its way to Slack. The module has a
deployment of its own whose follower polls every second; its two tests restart it in turn.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.models import Job, Notice
from tests.e2e.deployment import Deployment
from tests.e2e.helpers import Stage, everything_said, stays
from tests.e2e.test_follow import (
    DATABASES,
    FOLLOWING,
    FROZEN,
    OUTCOME_TIMEOUT,
    QUIET_SECONDS,
    charts,
    deployment_with,
    notices,
    start_job,
    start_jobs,
    the_notice,
)
from tests.emulators.openai_emulator import JobScript

TRAINING = JobScript(steps=12, step_s=0.4)
"""About five seconds of training: a job that ends while the bot is down."""
FAILING = JobScript(
    steps=12,
    step_s=0.4,
    outcome="failed",
    fail_after_steps=9,
    error={"code": "invalid_training_file", "message": "Example 4 has no messages."},
)
SLOW_POST = 3.0
"""How long Slack sits on the notice's chat.postMessage: the bot is killed meanwhile."""


@pytest.fixture(scope="module", params=DATABASES)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Overrides the suite's deployment for this module: the follower polls every second."""
    with deployment_with(request.param, tmp_path_factory.mktemp("crash"), FOLLOWING) as found:
        yield found


def job_status(database_url: str, job: str) -> str:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return session.get_one(Job, int(job.removeprefix("job-"))).status
    finally:
        engine.dispose()


def notice_statuses(database_url: str, job: str) -> list[str]:
    """The outbox rows owed for `job`, by status."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(
                session.scalars(
                    select(Notice.status).where(Notice.job_id == int(job.removeprefix("job-")))
                )
            )
    finally:
        engine.dispose()


def posts(stage: Stage) -> int:
    """Calls to chat.postMessage into the test's channel, failed or not."""
    return sum(
        1 for c in stage.api_calls("chat.postMessage") if c.params.get("channel") == stage.channel
    )


def test_jobs_training_through_a_crash_each_end_with_one_notice(stage: Stage):
    """Three jobs train when the bot dies: two end while it is down (one succeeds, one fails),
    the third after it is back. Each gets its notice once, and the successes their chart."""
    ends_while_down, ends_after, fails_while_down = start_jobs(stage, 3, FROZEN)
    openai = stage.openai
    openai.set_status(ends_while_down.provider_id, "running", script=TRAINING)
    openai.set_status(fails_while_down.provider_id, "running", script=FAILING)
    openai.set_status(ends_after.provider_id, "running")
    for _ in range(3):
        openai.advance(ends_after.provider_id)
    jobs = (ends_while_down, ends_after, fails_while_down)
    stage.slack.wait_for(
        lambda: all(job_status(stage.database_url, s.job) == "running" for s in jobs),
        timeout=OUTCOME_TIMEOUT,
    )

    stage.bot.kill()

    assert all(openai.job(s.provider_id)["status"] == "running" for s in jobs), (
        "the jobs must still be training when the bot dies"
    )
    assert all(notices(stage, s) == [] for s in jobs)
    openai.wait_for(ends_while_down.provider_id, "succeeded", timeout=OUTCOME_TIMEOUT)
    openai.wait_for(fails_while_down.provider_id, "failed", timeout=OUTCOME_TIMEOUT)
    stage.bot.start()
    openai.finish(ends_after.provider_id)

    for started, outcome in (
        (ends_while_down, "succeeded"),
        (ends_after, "succeeded"),
        (fails_while_down, "failed"),
    ):
        said = everything_said(the_notice(stage, started))
        assert f"`{started.job}` {outcome}" in said, said
    assert "Example 4 has no messages." in everything_said(notices(stage, fails_while_down)[0])
    assert len(charts(stage, ends_while_down.job)) == 1
    assert len(charts(stage, ends_after.job)) == 1
    assert charts(stage, fails_while_down.job) == []


def test_a_crash_while_the_notice_is_being_posted_leaves_one_notice_and_one_chart(
    stage: Stage,
):
    """Slack holds the notice's post while the bot dies, then completes it. The restarted bot
    must find that message (by its metadata) instead of posting the notice again, and still
    add the loss chart."""
    started = start_job(stage, FROZEN)
    stage.openai.set_status(started.provider_id, "running")
    posts_before = posts(stage)
    stage.slack.inject("chat.postMessage", delay=SLOW_POST)

    stage.openai.finish(started.provider_id)
    stage.slack.wait_for(
        lambda: notice_statuses(stage.database_url, started.job) == ["posting"],
        timeout=OUTCOME_TIMEOUT,
    )
    time.sleep(0.3)  # the claim is committed just before the request goes out
    assert posts(stage) == posts_before, (
        "the notice's post must still be in flight when the bot dies"
    )
    stage.bot.kill()

    stage.slack.wait_for(lambda: notices(stage, started), timeout=SLOW_POST + 5)
    assert charts(stage, started.job) == []
    lookups_before = len(stage.api_calls("conversations.replies"))
    stage.bot.start()

    stage.slack.wait_for(lambda: charts(stage, started.job), timeout=OUTCOME_TIMEOUT)
    notice = the_notice(stage, started)
    assert f"`{started.job}` succeeded" in everything_said(notice)
    assert len(stage.api_calls("conversations.replies")) > lookups_before
    assert posts(stage) == posts_before + 1
    stage.slack.wait_for(
        lambda: notice_statuses(stage.database_url, started.job) == ["sent"],
        timeout=OUTCOME_TIMEOUT,
    )
    assert len(charts(stage, started.job)) == 1
    assert stays(lambda: len(charts(stage, started.job)) == 1, seconds=QUIET_SECONDS)
