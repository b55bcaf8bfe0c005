"""A second workspace can neither see nor touch the first one's jobs, datasets or models.

Every lookup is scoped by the workspace the request came from. Here a second emulated workspace
(team T002, the same app and signing secret) sends signed requests to the running bot and names
what it knows of the first workspace: its job and dataset ids and the fine-tuned model. Answers
come back inline or through the request's own response_url, so they reach the workspace that
asked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.helpers import Stage, chat_jsonl, dataset_id, everything_said, job_id, stays
from tests.e2e.process import BOT_TOKEN, SIGNING_SECRET
from tests.emulators.openai_emulator import JobScript
from tests.emulators.slack_emulator import ALICE, GENERAL, SlackEmulator

OTHER_TEAM = "T002"
CANCEL = ("POST", r"/v1/fine_tuning/jobs/[^/]+/cancel")


@pytest.fixture
def other(stage: Stage) -> Iterator[SlackEmulator]:
    """Another workspace whose requests reach the same bot."""
    with SlackEmulator(
        bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, team_id=OTHER_TEAM
    ) as workspace:
        workspace.app_url = stage.bot.events_url
        yield workspace


def private_answer(workspace: SlackEmulator, contains: str) -> str:
    post = workspace.wait_for(
        lambda: next(
            (p for p in workspace.response_posts if contains in str(p.body.get("text"))), None
        ),
        timeout=10,
    )
    return str(post.body["text"])


def test_another_workspace_cannot_see_or_touch_a_job_by_its_id(stage: Stage, other):
    stage.openai.script = JobScript(manual=True)
    shared = stage.share("train.jsonl", chat_jsonl())
    dataset = dataset_id(stage.report(shared))
    stage.command("start")
    job = job_id(everything_said(stage.replies(shared.ts, count=2)[1]))
    cancels_before = stage.openai.count(*CANCEL)

    _, status = other.slash_command(ALICE, GENERAL, f"status {job}")
    _, listed = other.slash_command(ALICE, GENERAL, "list all")
    other.slash_command(ALICE, GENERAL, f"cancel {job}")
    cancelled = private_answer(other, job)

    assert f"no job '{job}' here" in status
    assert job not in listed and dataset not in listed
    assert job in cancelled and ":grey_question:" in cancelled
    assert stays(lambda: stage.openai.count(*CANCEL) == cancels_before, seconds=1.0)
    assert stage.job_row(job).status not in ("cancelled", "cancelling")


def test_another_workspace_cannot_talk_to_a_model_through_a_job_id(stage: Stage, other):
    stage.openai.script = JobScript(manual=True)
    shared = stage.share("train.jsonl", chat_jsonl())
    stage.report(shared)
    stage.command("start")
    job = job_id(everything_said(stage.replies(shared.ts, count=2)[1]))
    provider_id = stage.job_row(job).provider_job_id
    assert provider_id
    model = stage.openai.finish(provider_id)["fine_tuned_model"]
    before = len(stage.openai.completions)

    other.slash_command(ALICE, GENERAL, f"use {job}")
    refused_use = private_answer(other, "neither a model nor a job")
    other.slash_command(ALICE, GENERAL, f"ask {job} what do you know? --private")
    refused_ask = private_answer(other, "neither a model nor a job here")

    assert job in refused_use and job in refused_ask
    assert model not in refused_use + refused_ask
    assert not any(":link:" in m.text for m in other.messages(GENERAL))
    assert len(stage.openai.completions) == before, "no question reached the model"
