"""Following every job to the end, as the people in the channel see it.

A deployment of this module's own, whose follower polls OpenAI every second (the suite's shared
one never polls), so a job started with `/finetune start` is watched until it ends: its message
is edited in place, and its outcome arrives once, in the dataset's thread.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.models import Job, Notice
from tests.e2e.deployment import FAST_JOBS, Deployment, deployment_with
from tests.e2e.helpers import (
    Stage,
    block_texts,
    chat_jsonl,
    dataset_id,
    everything_said,
    job_id,
    provider_job_id,
    stays,
)
from tests.emulators.openai_emulator import JobScript
from tests.emulators.slack_emulator import ALICE, BOB, Message, StoredFile

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.db)]
FOLLOWING = {"TUNEBOT_POLL_SECONDS": "1"}
NOTICE_EVENT = "tunebot_notice"
"""The metadata event type that marks a completion notice."""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OUTCOME_TIMEOUT = 20.0
"""A job's end reaches Slack within a poll or two; generous for a loaded machine."""
QUIET_SECONDS = 1.5
"""Longer than a poll interval: what has not happened by then was not about to."""
FROZEN = JobScript(manual=True)
"""Jobs that stay where they are until the test moves them."""


@pytest.fixture(scope="module", params=DATABASES)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Overrides the suite's deployment for this module: here the follower polls every second.
    The suite's `stage` fixture then gives each test a fresh channel of it."""
    with deployment_with(request.param, tmp_path_factory.mktemp("follow"), FOLLOWING) as found:
        yield found


# -- starting jobs and reading what came of them -------------------------------------------


@dataclass(frozen=True)
class Started:
    """A job started from a dataset's thread: where it was announced and its two ids."""

    thread_ts: str
    report_ts: str
    message_ts: str
    job: str
    provider_id: str


def start_jobs(stage: Stage, count: int, script: JobScript = FAST_JOBS) -> list[Started]:
    """Share `count` valid datasets and `/finetune start` each (as Alice); the jobs play out as
    `script` says. Each step is taken for all of them before the next, to save waiting."""
    stage.openai.script = script
    shared = [stage.share("train.jsonl", chat_jsonl(12)) for _ in range(count)]
    reports = [stage.report(one) for one in shared]
    for report in reports:
        assert stage.command(f"start {dataset_id(report)}")[0] == 200
    found: list[Started] = []
    for one, report in zip(shared, reports, strict=True):
        announcement = stage.replies(one.ts, count=2)[1]
        said = everything_said(announcement)
        found.append(
            Started(
                thread_ts=one.ts,
                report_ts=report.ts,
                message_ts=announcement.ts,
                job=job_id(said),
                provider_id=provider_job_id(said),
            )
        )
    return found


def start_job(stage: Stage, script: JobScript = FAST_JOBS) -> Started:
    """Share a valid dataset and `/finetune start` it; the job plays out as `script` says."""
    (started,) = start_jobs(stage, 1, script)
    return started


def notices(stage: Stage, started: Started) -> list[Message]:
    """Messages in the job's thread marked as completion notices."""
    return [
        m
        for m in stage.thread(started.thread_ts)
        if (m.metadata or {}).get("event_type") == NOTICE_EVENT
    ]


def unexpected(stage: Stage, started: Started) -> list[Message]:
    """The app's messages in the thread that are neither the report, the job's own message,
    a file upload, nor a notice: a second progress message would show up here."""
    return [
        m
        for m in stage.thread(started.thread_ts)
        if m.by_app
        and m.ts not in (started.report_ts, started.message_ts)
        and m.subtype != "file_share"
        and (m.metadata or {}).get("event_type") != NOTICE_EVENT
    ]


def the_notice(stage: Stage, started: Started, timeout: float = OUTCOME_TIMEOUT) -> Message:
    """Wait for the job's notice; after a quiet moment there must still be exactly one."""
    stage.slack.wait_for(lambda: notices(stage, started), timeout=timeout)
    assert stays(lambda: len(notices(stage, started)) == 1, seconds=QUIET_SECONDS), [
        everything_said(m) for m in notices(stage, started)
    ]
    assert unexpected(stage, started) == []
    return notices(stage, started)[0]


def charts(stage: Stage, job: str) -> list[StoredFile]:
    """Loss charts the app uploaded for `job`."""
    return [f for f in stage.slack.uploaded_files if f.title.startswith(f"{job} loss")]


def versions(message: Message) -> list[str]:
    """Everything the message has said, oldest first (its edits, then what it says now)."""
    earlier = [f"{e.text}\n{block_texts(e.blocks)}" for e in message.edits]
    return [*earlier, everything_said(message)]


def home_publishes(stage: Stage, user: str) -> list[str]:
    """The text of every Home tab published for `user`, oldest first."""
    found: list[str] = []
    for call in stage.api_calls("views.publish"):
        if call.params.get("user_id") != user or not call.ok:
            continue
        view: Any = call.params["view"]
        if isinstance(view, str):
            view = json.loads(view)
        found.append(block_texts(view.get("blocks")))
    return found


def last_train_loss(stage: Stage, provider_id: str) -> float:
    """The training loss OpenAI reported at the job's last step."""
    state = stage.openai.app.state
    with state.lock:
        return float(state.jobs[provider_id].metrics[-1]["train_loss"])


def answered(stage: Stage, contains: str, timeout: float = 10.0) -> str:
    """The private answer to a command (posted to its response_url) that holds `contains`."""
    return stage.slack.wait_for(
        lambda: next(
            (
                str(p.body.get("text"))
                for p in stage.response_posts()
                if contains in str(p.body.get("text", ""))
            ),
            None,
        ),
        timeout=timeout,
    )


def followed_work_left(database_url: str) -> bool:
    """Whether any job of the deployment is still followed or still owes a notice."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            active = session.scalars(
                select(Job.id).where(
                    Job.status.in_(["pending", "validating_files", "queued", "running", "paused"])
                )
            ).first()
            owed = session.scalars(select(Notice.id).where(Notice.status != "sent")).first()
            return active is not None or owed is not None
    finally:
        engine.dispose()


# -- the tests -------------------------------------------------------------------------------


def test_a_job_edits_its_message_in_place_then_gets_one_notice_and_one_chart(stage: Stage):
    started = start_job(
        stage, JobScript(validating_s=0.3, queued_s=0.3, steps=8, step_s=0.4, outcome="succeeded")
    )

    notice = the_notice(stage, started)

    provider_job = stage.openai.job(started.provider_id)
    assert provider_job["status"] == "succeeded"
    said = everything_said(notice)
    assert notice.thread_ts == started.thread_ts
    assert f"<@{ALICE}>" in said and f"`{started.job}` succeeded" in said
    assert f"`{provider_job['fine_tuned_model']}`" in said
    assert f"{provider_job['trained_tokens']:,} trained tokens" in said
    assert f"final training loss {last_train_loss(stage, started.provider_id):.4f}" in said
    assert "final validation loss" in said
    assert re.search(r"took (\d+ min \d+ s|\d+ s)", said), said
    assert re.search(r"cost (&lt;)?\$\d", said), said

    message = stage.slack.message(stage.channel, started.message_ts)
    assert message is not None
    shown = versions(message)
    # Edits are throttled to one per ten seconds while a job runs (its end is never held
    # back), so a job of a few seconds shows one edit while it runs, then its final state.
    assert message.edits, "the job's message was never edited"
    assert any(
        status in version
        for version in shown[1:-1]
        for status in ("validating files", "queued", "running")
    ), f"no edit while the job ran: {shown}"
    assert "succeeded" in shown[-1] and "step 8/8" in shown[-1], shown[-1]
    assert re.search(r"training loss \d+\.\d{4}", shown[-1]), shown[-1]

    (chart,) = charts(stage, started.job)
    assert chart.content.startswith(PNG_MAGIC)
    assert re.fullmatch(rf"{started.job} loss .+", chart.title)
    uploads = [m for m in stage.thread(started.thread_ts) if chart.id in m.files]
    assert len(uploads) == 1, "the chart belongs in the dataset's thread"
    assert stays(lambda: len(charts(stage, started.job)) == 1, seconds=QUIET_SECONDS)


def test_a_failed_job_gets_one_notice_with_the_providers_error_and_a_hint(stage: Stage):
    error = {
        "code": "invalid_training_file",
        "message": "The training file has 3 examples with no assistant message.",
        "param": "training_file",
    }
    started = start_job(
        stage,
        JobScript(
            validating_s=0.1,
            queued_s=0.1,
            steps=4,
            step_s=0.1,
            outcome="failed",
            error=error,
            fail_after_steps=2,
        ),
    )

    notice = the_notice(stage, started)

    said = everything_said(notice)
    assert f"<@{ALICE}>" in said and f"`{started.job}` failed" in said
    assert "`invalid_training_file`" in said
    assert error["message"] in said
    assert ":bulb:" in said and "fix the dataset" in said
    assert charts(stage, started.job) == [], "a failed job has no loss chart"
    message = stage.slack.message(stage.channel, started.message_ts)
    assert message is not None and "failed" in everything_said(message)


def test_cancel_reaches_openai_and_the_notice_says_who_cancelled(stage: Stage):
    started = start_job(stage, FROZEN)
    stage.openai.set_status(started.provider_id, "running")
    cancel = f"/v1/fine_tuning/jobs/{started.provider_id}/cancel"

    status, body = stage.command(f"cancel {started.job}", user=BOB)

    assert status == 200 and "cancel" in body
    notice = the_notice(stage, started)
    said = everything_said(notice)
    assert f"<@{ALICE}>" in said, "the notice is for whoever started the job"
    assert f"`{started.job}` was cancelled by <@{BOB}>" in said
    assert stage.openai.count("POST", cancel) == 1
    assert stage.openai.job(started.provider_id)["status"] == "cancelled"


def test_pause_and_resume_reach_openai_and_owe_no_notice(stage: Stage):
    started = start_job(stage, FROZEN)
    stage.openai.set_status(started.provider_id, "running")
    job_path = f"/v1/fine_tuning/jobs/{started.provider_id}"

    assert stage.command(f"pause {started.job}")[0] == 200
    stage.openai.wait_for(started.provider_id, "paused", timeout=10)
    assert stage.openai.count("POST", f"{job_path}/pause") == 1
    assert answered(stage, f"Pausing `{started.job}`")
    assert stays(lambda: notices(stage, started) == [], seconds=QUIET_SECONDS)

    assert stage.command(f"resume {started.job}")[0] == 200
    stage.openai.wait_for(started.provider_id, "running", timeout=10)
    assert stage.openai.count("POST", f"{job_path}/resume") == 1
    assert answered(stage, f"Resuming `{started.job}`")
    assert stays(lambda: notices(stage, started) == [], seconds=QUIET_SECONDS)

    stage.openai.finish(started.provider_id)
    assert "succeeded" in everything_said(the_notice(stage, started))


def test_status_and_list_answer_without_asking_openai(stage: Stage):
    started = start_job(stage)
    the_notice(stage, started)
    stage.slack.wait_for(
        lambda: not followed_work_left(stage.database_url), timeout=OUTCOME_TIMEOUT
    )
    before = len(stage.openai.requests)

    answers = {
        text: stage.command(text)
        for text in ("status", f"status {started.job}", "list", "list all")
    }

    assert stays(lambda: len(stage.openai.requests) == before, seconds=QUIET_SECONDS), [
        r.target for r in stage.openai.requests[before:]
    ]
    for text, (status, _) in answers.items():
        assert status == 200, text
    assert "none yet" in answers["status"][1], "an ended job is not active"
    for text in (f"status {started.job}", "list", "list all"):
        shown = block_texts(json.loads(answers[text][1])["blocks"])
        assert started.job in shown and "succeeded" in shown, text


def test_the_home_tab_lists_the_job_and_is_published_again_when_it_changes(stage: Stage):
    viewer = f"U{stage.channel[1:]}"
    stage.slack.add_user(viewer, f"viewer-{viewer.lower()}")
    stage.slack.subscriptions.add("app_home_opened")
    started = start_job(stage, FROZEN)

    stage.slack.deliver_event(
        {
            "type": "app_home_opened",
            "user": viewer,
            "channel": f"D{viewer[1:]}",
            "tab": "home",
            "event_ts": started.message_ts,
        }
    )

    first = stage.slack.wait_for(lambda: home_publishes(stage, viewer), timeout=10)
    assert f"`{started.job}`" in first[0]
    assert f"`{started.job}` *succeeded*" not in first[0]
    stage.openai.finish(started.provider_id)
    the_notice(stage, started)
    later = stage.slack.wait_for(
        lambda: [
            view
            for view in home_publishes(stage, viewer)[len(first) :]
            if f"`{started.job}` *succeeded*" in view
        ],
        timeout=OUTCOME_TIMEOUT,
    )
    assert later
