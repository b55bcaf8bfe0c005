"""`/finetune` subcommands: help, reading jobs back, cancelling, events and models."""

from __future__ import annotations

import json

import pytest

from tests.e2e.helpers import (
    Stage,
    block_texts,
    chat_jsonl,
    everything_said,
    job_id,
    provider_job_id,
    stays,
)
from tests.emulators.openai_emulator import JobScript
from tests.emulators.slack_emulator import ALICE, ResponsePost

HELP_MARK = "Fine-tune models from this channel."


def started_job(stage: Stage, *, frozen: bool = False) -> tuple[str, str]:
    """Share a dataset and start a job on it; (job-N, ftjob-…). A frozen job stays running."""
    if frozen:
        stage.openai.script = JobScript(manual=True)
    shared = stage.share("train.jsonl", chat_jsonl())
    stage.report(shared)
    stage.command("start")
    announcement = everything_said(stage.replies(shared.ts, count=2)[1])
    return job_id(announcement), provider_job_id(announcement)


def response_to(stage: Stage, contains: str, timeout: float = 10.0) -> ResponsePost:
    """The app's post to a command's response_url whose text holds `contains`."""
    return stage.slack.wait_for(
        lambda: next(
            (p for p in stage.response_posts() if contains in str(p.body.get("text", ""))), None
        ),
        timeout=timeout,
    )


@pytest.mark.parametrize("text", ["help", "", "frobnicate"], ids=["help", "empty", "unknown"])
def test_help_is_the_private_answer_to_help_empty_and_unknown_text(stage: Stage, text: str):
    """Help comes back in the command's own answer, which only the person who typed it sees."""
    status, body = stage.command(text)

    assert status == 200 and HELP_MARK in body
    assert "`/finetune start" in body and "`/finetune cancel JOB`" in body
    if text == "frobnicate":
        assert "unknown subcommand 'frobnicate'" in body
    assert stays(lambda: not any(m.by_app for m in stage.channel_messages()))


def test_bad_arguments_get_the_error_and_the_help(stage: Stage):
    stage.share("train.jsonl", chat_jsonl())

    status, body = stage.command("start epochs=x")

    assert status == 200
    assert "epochs must be a whole number, not 'x'" in body and HELP_MARK in body
    assert stays(lambda: not stage.provider_requests())


def test_status_and_list_answer_from_the_database(stage: Stage):
    job, provider_id = started_job(stage, frozen=True)
    before = len(stage.provider_requests())

    answers = {text: stage.command(text) for text in ("status", "list", "list all")}

    assert len(stage.provider_requests()) == before, "status and list must not call OpenAI"
    for text, (status, body) in answers.items():
        shown = block_texts(json.loads(body)["blocks"])
        assert status == 200, text
        assert job in shown and provider_id in shown, text
    assert "Active jobs in this channel" in answers["status"][1]
    assert "Jobs in this channel" in answers["list"][1]


def test_status_finds_one_job_by_our_id_or_the_providers(stage: Stage):
    job, provider_id = started_job(stage)
    before = len(stage.provider_requests())

    by_ours = json.loads(stage.command(f"status {job}")[1])
    by_theirs = json.loads(stage.command(f"status {provider_id}")[1])
    missing = stage.command("status job-999999")[1]

    assert f"Job {job}" in block_texts(by_ours["blocks"])
    assert provider_id in block_texts(by_ours["blocks"])
    assert by_theirs == by_ours
    assert "no job 'job-999999' here" in missing
    assert len(stage.provider_requests()) == before


def test_cancel_asks_openai_and_answers_through_the_response_url(stage: Stage):
    job, provider_id = started_job(stage, frozen=True)

    status, body = stage.command(f"cancel {job}")

    assert status == 200 and "Asking OpenAI to cancel" in body
    answer = response_to(stage, "Cancelling")
    assert f"`{job}` (now cancelled)" in answer.body["text"]
    assert answer.outcome == "ephemeral"
    assert stage.provider_calls("POST", f"/v1/fine_tuning/jobs/{provider_id}/cancel")
    assert stage.openai.job(provider_id)["status"] == "cancelled"
    assert stage.job_row(job).cancelled_by == ALICE


def test_events_lists_the_jobs_events_from_openai(stage: Stage):
    job, provider_id = started_job(stage)
    stage.openai.wait_for(provider_id, "succeeded")

    status, _ = stage.command(f"events {job}")

    assert status == 200
    answer = response_to(stage, "The job has successfully completed")
    lines = answer.body["text"].splitlines()
    assert any("Step 5/5: training loss=" in line for line in lines)
    assert "successfully completed" in lines[-1], "oldest first, newest last"
    assert stage.provider_calls("GET", f"/v1/fine_tuning/jobs/{provider_id}/events")


def test_models_lists_the_base_models(stage: Stage):
    status, _ = stage.command("models")

    assert status == 200
    answer = response_to(stage, "Base models you can fine-tune")
    for model in ("gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "babbage-002"):
        assert f"`{model}`" in answer.body["text"]
    assert "Your fine-tuned models" in answer.body["text"]
