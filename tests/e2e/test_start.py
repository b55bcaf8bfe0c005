"""Starting a fine-tune: by `/finetune start`, or the report's button and its modal."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.helpers import (
    FILE_UPLOAD,
    JOB_CREATE,
    START_ACTION,
    Shared,
    Stage,
    block_texts,
    chat_jsonl,
    chat_jsonl_with_errors,
    dataset_id,
    everything_said,
    job_id,
    provider_job_id,
    replay,
    stays,
)
from tests.emulators.slack_emulator import ALICE, Message, View

DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"


def shared_dataset(stage: Stage, content: bytes | None = None) -> tuple[Shared, Message]:
    shared = stage.share("train.jsonl", content or chat_jsonl(20))
    return shared, stage.report(shared)


def open_modal(stage: Stage, report: Message) -> View:
    assert stage.click(report, START_ACTION)[0] == 200
    return stage.slack.wait_for(
        lambda: next((v for v in stage.slack.views if v.is_open and v.user == ALICE), None)
    )


def modal_values(
    model: str = DEFAULT_MODEL, epochs: str = "", suffix: str = "", seed: str = ""
) -> dict[str, Any]:
    """`view.state.values` as Slack sends them for the start modal."""

    def typed(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value or None}}

    return {
        "model": {
            "value": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": model}, "value": model},
            }
        },
        "epochs": typed(epochs),
        "suffix": typed(suffix),
        "validation": {"value": {"type": "static_select", "selected_option": None}},
        "seed": typed(seed),
    }


def test_start_command_creates_a_job_and_announces_it_in_the_dataset_thread(stage: Stage):
    content = chat_jsonl(20)
    shared, report = shared_dataset(stage, content)
    short_id = dataset_id(report)

    status, body = stage.command("start")

    assert status == 200 and "Starting the fine-tune" in body
    announcement = stage.replies(shared.ts, count=2)[1]
    said = everything_said(announcement)
    job = job_id(said)
    assert f"started by <@{ALICE}>" in said
    assert DEFAULT_MODEL in said and short_id in said
    assert "epochs as the API picks" in said and "estimated $" in said
    jobs = stage.provider_jobs()
    assert len(jobs) == 1
    assert provider_job_id(said) == jobs[0]["id"]
    assert jobs[0]["metadata"] == {"tunebot_job": job}
    assert jobs[0]["model"] == DEFAULT_MODEL
    purpose, uploaded = stage.provider_file(jobs[0]["training_file"])
    assert purpose == "fine-tune"
    assert len(uploaded.decode().splitlines()) == 20
    assert b"What is 19 + 19?" in uploaded


def test_the_button_opens_a_modal_whose_submission_starts_the_job(stage: Stage):
    shared, report = shared_dataset(stage)
    view = open_modal(stage, report)
    assert view.callback_id == "start_finetune_modal"
    assert {"model", "epochs", "suffix", "seed"} <= {b.get("block_id") for b in view.blocks}
    assert dataset_id(report) in block_texts(view.blocks)

    status, body = stage.slack.submit_view(
        ALICE, view.id, modal_values(epochs="3", suffix="support-v2", seed="42")
    )

    assert status == 200 and "errors" not in body
    announcement = stage.replies(shared.ts, count=2)[1]
    assert "3 epochs" in announcement.text
    (job,) = stage.provider_jobs()
    assert job["hyperparameters"]["n_epochs"] == 3
    assert job["user_provided_suffix"] == "support-v2"
    assert job["seed"] == 42
    assert provider_job_id(announcement.text) == job["id"]


def test_the_same_modal_submitted_twice_starts_one_job(stage: Stage):
    shared, report = shared_dataset(stage)
    view = open_modal(stage, report)
    assert stage.slack.submit_view(ALICE, view.id, modal_values(epochs="2"))[0] == 200
    submission = next(
        d for d in stage.deliveries() if d.kind == "interaction" and view.id in d.body
    )

    assert replay(stage.slack, submission).status_code == 200
    stage.replies(shared.ts, count=2)

    assert stays(lambda: len(stage.provider_jobs()) == 1, seconds=1.0)
    assert len(stage.provider_calls(*JOB_CREATE)) == 1
    assert len(stage.thread(shared.ts)) == 2


def test_a_modal_with_bad_epochs_shows_the_error_and_starts_nothing(stage: Stage):
    _, report = shared_dataset(stage)
    view = open_modal(stage, report)

    status, body = stage.slack.submit_view(ALICE, view.id, modal_values(epochs="lots"))

    assert status == 200
    assert json.loads(body)["response_action"] == "errors"
    shown = stage.slack.view(view.id)
    assert shown is not None and shown.is_open
    assert "whole number" in shown.errors["epochs"]
    assert stays(lambda: not stage.provider_requests())


def test_an_unknown_model_is_refused_with_the_known_ones(stage: Stage):
    shared_dataset(stage)

    stage.command("start model=nope")

    refusal = stage.ephemeral("Not started")
    assert "'nope'" in refusal.text
    assert DEFAULT_MODEL in refusal.text and "babbage-002" in refusal.text
    assert stage.provider_jobs() == []
    assert stage.provider_calls(*FILE_UPLOAD) == []


def test_start_without_a_dataset_in_the_channel_says_what_to_do(stage: Stage):
    stage.command("start")

    refusal = stage.ephemeral("Not started")
    assert "no valid dataset in this channel" in refusal.text
    assert "Drop a training file" in refusal.text
    assert stage.provider_requests() == []


def test_a_dataset_with_errors_is_refused(stage: Stage):
    content, _ = chat_jsonl_with_errors()
    shared = stage.share("broken.jsonl", content)
    broken = dataset_id(stage.report(shared))

    stage.command(f"start {broken}")

    refusal = stage.ephemeral("Not started")
    assert f"{broken} has errors" in refusal.text
    assert stage.provider_requests() == []
    assert len(stage.thread(shared.ts)) == 1


def test_a_refusal_by_openai_is_told_in_the_thread_and_fails_the_job(stage: Stage):
    shared, _ = shared_dataset(stage)
    message = "Training file has 12 examples; this model needs at least 20."
    stage.openai.inject(
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

    stage.command("start")

    told = stage.replies(shared.ts, count=2)[1]
    assert "did not start" in everything_said(told)
    assert message in everything_said(told)
    assert stage.provider_jobs() == []
    listed = json.loads(stage.command("list")[1])
    assert "failed" in block_texts(listed["blocks"]) and message in block_texts(listed["blocks"])
    job = stage.job_row(job_id(block_texts(listed["blocks"])))
    assert job.status == "failed" and job.error_message == message


def test_a_passing_server_error_is_retried_into_one_job(stage: Stage):
    shared, _ = shared_dataset(stage)
    stage.openai.inject(r"^/v1/fine_tuning/jobs$", status=500, method="POST")

    stage.command("start")

    announcement = stage.replies(shared.ts, count=2)[1]
    assert "started by" in announcement.text
    assert len(stage.provider_calls(*JOB_CREATE)) == 2
    (job,) = stage.provider_jobs()
    assert provider_job_id(announcement.text) == job["id"]
    assert stays(lambda: len(stage.thread(shared.ts)) == 2)
