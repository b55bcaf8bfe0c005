"""Jobs through the provider: created, followed to the end, steered, listed page by page."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from pathlib import Path

import openai
import pytest

from finetuning.provider import OpenAIProvider, ProviderError, hint_for
from finetuning.provider.errors import HINT_DATASET, HINT_MODEL, HINT_NOT_FOUND
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator
from tests.provider.conftest import FAST, MODEL, api_calls, chat_examples, dpo_examples

MANUAL = JobScript(steps=4, manual=True)
JOBS = "/v1/fine_tuning/jobs"


def upload(provider: OpenAIProvider, tmp_path: Path, content: bytes, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return provider.upload_training_file(path)


def run_to_success(emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path) -> str:
    training = upload(provider, tmp_path, chat_examples(12), "train.jsonl")
    job = provider.create_job(training_file=training, model=MODEL, suffix="support")
    emu.wait_for(job.id, "succeeded")
    return job.id


def results_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_a_job_runs_to_success_and_its_snapshot_holds_plain_values(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    training = upload(provider, tmp_path, chat_examples(12), "train.jsonl")
    validation = upload(provider, tmp_path, chat_examples(3), "valid.jsonl")

    created = provider.create_job(
        training_file=training,
        model=MODEL,
        validation_file=validation,
        epochs=2,
        suffix="support",
        seed=42,
        metadata={"channel": "C123"},
    )
    assert created.status == "validating_files"
    assert not created.is_terminal
    assert created.n_epochs == 2
    assert created.method == "supervised"

    emu.wait_for(created.id, "succeeded")
    job = provider.retrieve_job(created.id)

    assert job.status == "succeeded" and job.is_terminal
    assert job.model == MODEL
    assert job.fine_tuned_model is not None
    assert job.fine_tuned_model.startswith(f"ft:{MODEL}:")
    assert job.suffix == job.user_provided_suffix == "support"
    assert (job.training_file, job.validation_file) == (training, validation)
    assert job.seed == 42
    assert job.metadata == {"channel": "C123"}
    assert job.n_epochs == 2
    assert job.trained_tokens is not None and job.trained_tokens > 0
    assert job.created_at.tzinfo is UTC
    assert job.finished_at is not None and job.finished_at >= job.created_at
    assert job.estimated_finish is None
    assert (job.error_code, job.error_message) == (None, None)
    assert len(job.result_files) == 1


def test_events_carry_per_step_metrics_newest_first(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    job_id = run_to_success(emu, provider, tmp_path)

    events = provider.list_events(job_id, limit=100)
    metrics = [event for event in events if event.type == "metrics"]

    assert [event.data["step"] for event in metrics] == list(range(FAST.steps, 0, -1))
    assert all(isinstance(event.data["train_loss"], float) for event in metrics)
    assert events[0].message == "The job has successfully completed"
    assert all(event.level == "info" for event in events)

    older = provider.list_events(job_id, limit=2, after=events[1].id)
    assert [event.id for event in older] == [event.id for event in events[2:4]]


def test_result_file_is_decoded_from_base64(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    assert emu.results_base64
    job = provider.retrieve_job(run_to_success(emu, provider, tmp_path))

    content = provider.result_file_content(job.result_files[0])

    rows = results_rows(content)
    assert [int(row["step"]) for row in rows] == list(range(1, FAST.steps + 1))
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])


def test_result_file_sent_as_plain_csv_passes_through(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    emu.results_base64 = False
    job = provider.retrieve_job(run_to_success(emu, provider, tmp_path))

    content = provider.result_file_content(job.result_files[0])

    assert content.startswith(b"step,train_loss,")
    assert len(results_rows(content)) == FAST.steps


def test_checkpoints_are_listed_with_their_metrics(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    job = provider.retrieve_job(run_to_success(emu, provider, tmp_path))

    checkpoints = provider.list_checkpoints(job.id)

    assert checkpoints
    assert checkpoints[0].step_number == FAST.steps
    assert checkpoints[0].fine_tuned_model_checkpoint.startswith(f"{job.fine_tuned_model}:ckpt")
    assert "train_loss" in checkpoints[0].metrics


def test_too_few_examples_fail_the_job_with_the_apis_reason(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    training = upload(provider, tmp_path, chat_examples(3), "tiny.jsonl")
    created = provider.create_job(training_file=training, model=MODEL)
    emu.wait_for(created.id, "failed")

    job = provider.retrieve_job(created.id)

    assert job.status == "failed" and job.is_terminal
    assert job.error_code == "invalid_training_file"
    assert job.error_param == "training_file"
    assert job.error_message is not None
    assert "Training file has 3 example(s), but must have at least 10 examples" in (
        job.error_message
    )
    assert job.fine_tuned_model is None
    assert hint_for(status=None, code=job.error_code, param=job.error_param) == HINT_DATASET


def test_an_unknown_model_is_refused_with_the_apis_message_and_a_hint(
    provider: OpenAIProvider, tmp_path: Path
) -> None:
    training = upload(provider, tmp_path, chat_examples(12), "train.jsonl")

    with pytest.raises(ProviderError) as caught:
        provider.create_job(training_file=training, model="gpt-nope")

    error = caught.value
    assert error.message == "Model gpt-nope is not available for fine-tuning or does not exist."
    assert str(error) == error.message
    assert (error.status, error.code, error.param) == (400, "model_not_available", "model")
    assert error.hint == HINT_MODEL
    assert not error.retryable


def test_a_dpo_job_is_created_with_the_method_form(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    training = upload(provider, tmp_path, dpo_examples(12), "prefs.jsonl")

    job = provider.create_job(training_file=training, model=MODEL, method="dpo", epochs=1)
    emu.wait_for(job.id, "succeeded")

    assert job.method == "dpo"
    assert job.n_epochs == 1
    assert provider.retrieve_job(job.id).n_epochs == 1


def test_a_job_is_paused_resumed_and_cancelled(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    emu.script = MANUAL
    training = upload(provider, tmp_path, chat_examples(12), "train.jsonl")
    job = provider.create_job(training_file=training, model=MODEL)
    emu.advance(job.id)  # validated -> queued
    assert emu.advance(job.id) == "running"

    assert provider.pause_job(job.id).status == "paused"
    assert provider.retrieve_job(job.id).status == "paused"  # a status the SDK does not list
    assert provider.resume_job(job.id).status == "running"
    cancelled = provider.cancel_job(job.id)
    assert cancelled.status == "cancelled" and cancelled.is_terminal

    with pytest.raises(ProviderError) as caught:
        provider.cancel_job(job.id)
    assert caught.value.status == 400
    assert caught.value.message == f"Job has already completed: {job.id}"


def test_an_unknown_job_is_a_404_provider_error(provider: OpenAIProvider) -> None:
    with pytest.raises(ProviderError) as caught:
        provider.retrieve_job("ftjob-missing")

    assert caught.value.status == 404
    assert caught.value.code == "fine_tuning_job_not_found"
    assert caught.value.message == "Could not find fine-tuning job: ftjob-missing"
    assert caught.value.hint == HINT_NOT_FOUND


def test_jobs_are_listed_page_by_page(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    emu.script = MANUAL
    training = upload(provider, tmp_path, chat_examples(12), "train.jsonl")
    created = [provider.create_job(training_file=training, model=MODEL).id for _ in range(5)]
    newest_first = created[::-1]

    first, more = provider.list_jobs(limit=2)
    assert [job.id for job in first] == newest_first[:2] and more
    last, more = provider.list_jobs(after=newest_first[3], limit=2)
    assert [job.id for job in last] == newest_first[4:] and not more

    emu.reset_log()
    assert [job.id for job in provider.iter_jobs(page_size=2)] == newest_first
    assert api_calls(emu, "GET", "/v1/fine_tuning/jobs") == 3


def test_pause_and_resume_fall_back_to_a_raw_post_on_an_older_sdk(
    emu: OpenAIEmulator,
    client: openai.OpenAI,
    provider: OpenAIProvider,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs_class = type(client.fine_tuning.jobs)
    monkeypatch.setattr(jobs_class, "pause", None)  # as in SDKs released before pause existed
    monkeypatch.setattr(jobs_class, "resume", None)
    emu.script = MANUAL
    training = upload(provider, tmp_path, chat_examples(12), "train.jsonl")
    job = provider.create_job(training_file=training, model=MODEL)
    emu.advance(job.id)
    emu.advance(job.id)

    assert provider.pause_job(job.id).status == "paused"
    assert provider.resume_job(job.id).status == "running"
    assert api_calls(emu, "POST", rf"{JOBS}/{job.id}/(pause|resume)") == 2
