"""Jobs from Discord after they start, through the real `tunebot serve --discord`: the outcome
notice (a failure with OpenAI's words), cancel, pause and resume, events, models and deleting a
model; a redelivered interaction; attachments the CDN does not hand over as a file.

All on the shared deployment, whose follower polls every second: each test works in threads of
its own (one per posted file) and names its dataset, so the tests do not see each other's jobs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, Job
from tests.e2e.discord.test_flow import answer_text, button_id, job_creates, report_in_thread
from tests.e2e.discord_deployment import DiscordDeployment
from tests.e2e.helpers import chat_jsonl, reading, stays
from tests.emulators.discord_emulator import ALICE, GENERAL, Interaction, Message
from tests.emulators.openai_emulator import JobScript

FROZEN = JobScript(manual=True)
"""Jobs that stay where they are until the test moves them."""
TIMEOUT = 20.0
QUIET = 1.5
"""Longer than a poll: what has not happened by then was not about to."""


# -- starting a job and reading what came of it -------------------------------------------------


@dataclass(frozen=True)
class Started:
    """A job started from a file's thread: the thread, the job's own message, its two ids."""

    thread: int
    message: int
    job: str
    provider_id: str


def post_dataset(d: DiscordDeployment, content: bytes, user: int = ALICE) -> tuple[int, str]:
    """A person posts a training file in #general: (its thread, the dataset's ds-N)."""
    posted = d.discord.post(user, GENERAL, "", files=[("train.jsonl", content)])
    (report,) = report_in_thread(d, posted.id)
    return posted.id, report.embeds[0]["title"].split(" ")[0]


def start_job(
    d: DiscordDeployment, script: JobScript = FROZEN, content: bytes | None = None
) -> Started:
    """Post a valid dataset and `/finetune start` it as Alice; the job plays out as `script`."""
    d.openai.script = script
    thread, dataset = post_dataset(d, content or chat_jsonl())
    asked = d.discord.run_command(ALICE, GENERAL, "finetune start", dataset=dataset)
    said = answer_text(d, asked.id)
    job = re.search(r"\bjob-\d+\b", said)
    link = re.search(r"/channels/\d+/\d+/(\d+)", said)
    assert job and link, said
    return Started(thread, int(link.group(1)), job.group(0), provider_job(d, job.group(0)))


def provider_job(d: DiscordDeployment, job: str) -> str:
    """The OpenAI job tunebot created for `job` (tunebot names it in the job's metadata)."""
    state = d.openai.app.state
    with state.lock:
        return next(
            key
            for key, found in state.jobs.items()
            if (found.to_api().get("metadata") or {}).get("tunebot_job") == job
        )


def notices(d: DiscordDeployment, started: Started) -> list[Message]:
    """The outcome notices in the job's thread (each names its job in its content)."""
    return [
        m
        for m in d.discord.bot_messages(started.thread)
        if f"fine-tune {started.job} " in m.content and m.id != started.message
    ]


def the_notice(d: DiscordDeployment, started: Started) -> Message:
    """The job's notice, once; after a quiet moment there must still be only one."""
    d.discord.wait_for(lambda: notices(d, started), TIMEOUT)
    assert stays(lambda: len(notices(d, started)) == 1, QUIET), [
        m.content for m in notices(d, started)
    ]
    return notices(d, started)[0]


def shown(d: DiscordDeployment, started: Started, status: str) -> Message:
    """The job's own message once it has been edited to show `status`."""
    return d.discord.wait_for(
        lambda: (
            (m := d.discord.message(started.message)) is not None
            and m.embeds
            and f"· {status}" in m.embeds[0]["title"]
            and m
        ),
        TIMEOUT,
    )


def job_row(d: DiscordDeployment, job: str) -> Job:
    with reading(d.database_url) as session:
        return session.get_one(Job, int(job.removeprefix("job-")))


def jobs_on(d: DiscordDeployment, dataset: str) -> list[Job]:
    with reading(d.database_url) as session:
        number = int(dataset.removeprefix("ds-"))
        return list(session.scalars(select(Job).where(Job.dataset_id == number)))


def audited(d: DiscordDeployment, action: str, subject: str) -> list[str]:
    """Who the audit log says did `action` to `subject`."""
    with reading(d.database_url) as session:
        return list(
            session.scalars(
                select(AuditEntry.actor).where(
                    AuditEntry.action == action, AuditEntry.subject == subject
                )
            )
        )


def command(d: DiscordDeployment, line: str, user: int = ALICE, **options: object) -> str:
    """Run `/finetune …` and return what the person was answered."""
    asked = d.discord.run_command(user, GENERAL, line, **options)
    return answer_text(d, asked.id)


def changes_at_openai(d: DiscordDeployment, since: int) -> list[str]:
    """What reached OpenAI after request `since` besides reads (the follower polls)."""
    return [f"{r.method} {r.path}" for r in d.openai.requests[since:] if r.method != "GET"]


# -- outcomes -----------------------------------------------------------------------------------


def test_a_failed_job_gets_one_notice_in_its_thread_with_openais_error(
    discord_stage: DiscordDeployment,
):
    d = discord_stage
    error = {
        "code": "invalid_training_file",
        "message": "The training file has 3 examples with no assistant message.",
        "param": "training_file",
    }
    failing = JobScript(
        validating_s=0.1,
        queued_s=0.1,
        steps=4,
        step_s=0.1,
        outcome="failed",
        error=error,
        fail_after_steps=2,
    )
    started = start_job(d, failing)

    notice = the_notice(d, started)

    assert notice.channel_id == started.thread
    assert f"<@{ALICE}>" in notice.content and "failed (invalid_training_file)" in notice.content
    assert error["message"] in notice.embeds[0]["description"]
    assert any(f["name"].endswith("What to do") for f in notice.embeds[0].get("fields", []))
    assert not notice.attachment_ids, "a failed job has no loss chart"
    assert shown(d, started, "failed").id == started.message
    assert job_row(d, started.job).error_message == error["message"]


def test_cancel_reaches_openai_edits_the_jobs_message_and_is_audited(
    discord_stage: DiscordDeployment,
):
    d = discord_stage
    started = start_job(d)
    d.openai.set_status(started.provider_id, "running")

    said = command(d, "finetune cancel", job=started.job)

    assert f"Cancelling `{started.job}` (now cancelled)" in said
    assert d.openai.job(started.provider_id)["status"] == "cancelled"
    assert d.openai.count("POST", rf"/v1/fine_tuning/jobs/{started.provider_id}/cancel") == 1
    edited = shown(d, started, "cancelled")
    assert edited.edits, "the job's own message is edited in place"
    notice = the_notice(d, started)
    assert f"was cancelled by <@{ALICE}>" in notice.content
    assert job_row(d, started.job).cancelled_by == str(ALICE)
    assert str(ALICE) in audited(d, "job.cancelled", started.job)


def test_pause_and_resume_reach_openai_and_owe_no_notice(discord_stage: DiscordDeployment):
    d = discord_stage
    started = start_job(d)
    d.openai.set_status(started.provider_id, "running")
    path = f"/v1/fine_tuning/jobs/{started.provider_id}"

    assert f"Pausing `{started.job}`" in command(d, "finetune pause", job=started.job)
    d.openai.wait_for(started.provider_id, "paused", timeout=10)
    shown(d, started, "paused")
    assert f"Resuming `{started.job}`" in command(d, "finetune resume", job=started.job)
    d.openai.wait_for(started.provider_id, "running", timeout=10)

    assert d.openai.count("POST", rf"{path}/pause") == 1
    assert d.openai.count("POST", rf"{path}/resume") == 1
    assert stays(lambda: notices(d, started) == [], QUIET)
    assert str(ALICE) in audited(d, "job.paused", started.job)
    assert str(ALICE) in audited(d, "job.resumed", started.job)
    d.openai.finish(started.provider_id)
    assert "succeeded." in the_notice(d, started).content


def test_events_shows_openais_events_oldest_first(discord_stage: DiscordDeployment):
    d = discord_stage
    started = start_job(d, JobScript(validating_s=0.05, queued_s=0.05, steps=5, step_s=0.05))
    d.openai.wait_for(started.provider_id, "succeeded", timeout=10)

    said = command(d, "finetune events", job=started.job)

    lines = said.splitlines()
    assert any("Step 5/5: training loss=" in line for line in lines), said
    assert "successfully completed" in lines[-1], "oldest first, newest last"
    assert d.openai.count("GET", rf"/v1/fine_tuning/jobs/{started.provider_id}/events") >= 1


def test_models_lists_base_and_tuned_models_and_delete_removes_one_at_openai(
    discord_stage: DiscordDeployment,
):
    d = discord_stage
    (job,) = d.openai.create_jobs(1, status="succeeded")
    model = str(d.openai.job(job)["fine_tuned_model"])

    listed = command(d, "finetune models")
    deleted = command(d, "finetune delete", model=model)

    assert "Base models you can fine-tune" in listed and "`gpt-4o-mini-2024-07-18`" in listed
    assert f"`{model}`" in listed.split("Your fine-tuned models")[1]
    assert f"Deleted `{model}`" in deleted
    assert d.openai.count("DELETE", rf"/v1/models/{re.escape(model)}") == 1
    with d.openai.app.state.lock:
        assert model not in d.openai.app.state.models
    assert str(ALICE) in audited(d, "model.deleted", model)
    assert f"`{model}`" not in command(d, "finetune models")


def test_a_refusal_by_openai_is_told_in_the_thread_and_fails_the_job(
    discord_stage: DiscordDeployment,
):
    d = discord_stage
    thread, dataset = post_dataset(d, chat_jsonl())
    message = "Training file has 12 examples; this model needs at least 20."
    d.openai.inject(
        r"^/v1/fine_tuning/jobs$",
        status=400,
        method="POST",
        body={
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": "training_file",
                "code": "invalid_training_file",
            }
        },
    )
    before = job_creates(d)

    said = command(d, "finetune start", dataset=dataset)

    told = d.discord.wait_for(
        lambda: [m for m in d.discord.bot_messages(thread)[1:] if m.embeds], TIMEOUT
    )
    assert [m.embeds[0]["title"] for m in told] == ["❌ OpenAI refused the job"]
    assert message in told[0].embeds[0]["description"]
    assert "OpenAI refused the job" in said
    (job,) = jobs_on(d, dataset)
    assert (job.status, job.error_message) == ("failed", message)
    assert job_creates(d) == before + 1


def test_a_passing_server_error_is_retried_into_one_job(discord_stage: DiscordDeployment):
    d = discord_stage
    d.openai.script = FROZEN
    thread, dataset = post_dataset(d, chat_jsonl())
    d.openai.inject(r"^/v1/fine_tuning/jobs$", status=500, method="POST")
    before = job_creates(d)

    said = command(d, "finetune start", dataset=dataset)

    job = re.search(r"\bjob-\d+\b", said)
    assert job is not None and "started" in said, said
    assert job_creates(d) == before + 2, "the 500, then the one that went through"
    assert stays(lambda: len(d.discord.bot_messages(thread)) == 2, QUIET), (
        "the report and one announcement"
    )
    d.openai.finish(provider_job(d, job.group(0)))  # the shared follower stops polling it


# -- delivery -------------------------------------------------------------------------------------


def start_by_command(d: DiscordDeployment, thread: int, dataset: str) -> Interaction:
    return d.discord.run_command(ALICE, GENERAL, "finetune start", dataset=dataset)


def start_by_modal(d: DiscordDeployment, thread: int, dataset: str) -> Interaction:
    """The report's Start fine-tune button, then its modal submitted as it opened."""
    (report,) = report_in_thread(d, thread)
    click = d.discord.click(ALICE, report.id, button_id(report, "Start fine-tune"))
    d.discord.wait_for_callback(click.id)
    return d.discord.submit_modal(ALICE, click.id, {"epochs": "2"})


@pytest.mark.parametrize("ask", [start_by_command, start_by_modal], ids=["command", "modal"])
def test_a_redelivered_start_interaction_starts_one_job(
    discord_stage: DiscordDeployment, ask: Callable[[DiscordDeployment, int, str], Interaction]
):
    d = discord_stage
    d.openai.script = FROZEN
    thread, dataset = post_dataset(d, chat_jsonl())
    before = job_creates(d)
    asked = ask(d, thread, dataset)
    first = answer_text(d, asked.id)
    log_from = len(d.bot.log())

    assert d.discord.redeliver_interaction(asked.id) == 1

    d.discord.wait_for(
        lambda: f"interaction {asked.id} was delivered before" in d.bot.log()[log_from:], TIMEOUT
    )
    assert stays(lambda: job_creates(d) == before + 1, QUIET)
    assert "started" in first
    again = d.discord.interaction(asked.id)
    assert again.refused_callbacks == [], "the second delivery is not answered again"
    job = re.search(r"\bjob-\d+\b", first)
    assert job is not None
    d.openai.finish(provider_job(d, job.group(0)))  # the shared follower stops polling it


# -- attachments the CDN does not hand over ----------------------------------------------------


@pytest.mark.parametrize(
    ("serve", "says", "cdn_asked"),
    [
        ("foreign", "not a Discord file host", False),
        ("redirect", "redirect, which is not followed", True),
        ("html", "a web page instead of the file", True),
    ],
)
def test_an_attachment_not_served_as_a_file_by_discords_cdn_is_refused(
    discord_stage: DiscordDeployment, serve: str, says: str, cdn_asked: bool
):
    d = discord_stage
    posted = d.discord.post(
        ALICE, GENERAL, "", files=[(f"{serve}.jsonl", chat_jsonl())], serve=serve
    )
    (attachment,) = posted.attachment_ids

    (answer,) = d.discord.wait_for(lambda: d.discord.bot_messages(posted.id), TIMEOUT)

    assert f"could not read `{serve}.jsonl`" in answer.content and says in answer.content
    assert not answer.embeds and not answer.components, "no report, no Start button"
    tried = [x for x in d.discord.downloads if x["attachment_id"] == attachment]
    assert bool(tried) is cdn_asked
    assert d.discord.foreign_requests == [], "nothing is fetched from another host"
    assert stays(lambda: len(d.discord.bot_messages(posted.id)) == 1, 0.5)
