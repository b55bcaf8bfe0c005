"""The OpenAI emulator, driven through the real `openai` SDK so every shape is one it parses."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import openai
import pytest
from openai import OpenAI

from tests.emulators.openai_emulator import JobScript, OpenAIEmulator

KEY = "sk-test-emulator-0123456789"
FAST = JobScript(validating_s=0.02, queued_s=0.02, steps=6, step_s=0.02)
MANUAL = JobScript(steps=4, manual=True)
REPO = Path(__file__).resolve().parents[2]


def chat_examples(count: int) -> bytes:
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"What is {n} plus {n}?"},
                    {"role": "assistant", "content": f"It is {2 * n}."},
                ]
            }
        )
        for n in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def emu() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(api_key=KEY, script=FAST) as emulator:
        yield emulator


@pytest.fixture
def client(emu: OpenAIEmulator) -> Iterator[OpenAI]:
    with OpenAI(base_url=emu.base_url, api_key=KEY, max_retries=0, timeout=10) as sdk:
        yield sdk


def upload(client: OpenAI, content: bytes, name: str = "train.jsonl") -> str:
    return client.files.create(file=(name, io.BytesIO(content)), purpose="fine-tune").id


def start_job(client: OpenAI, examples: int = 12, metadata: dict[str, str] | None = None) -> str:
    training = upload(client, chat_examples(examples))
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18", training_file=training, metadata=metadata
    )
    return job.id


def test_job_runs_to_success_on_its_own_with_events_results_and_a_usable_model(
    emu: OpenAIEmulator, client: OpenAI
) -> None:
    data = chat_examples(12)
    training = upload(client, data)
    validation = upload(client, chat_examples(3), "valid.jsonl")
    created = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18",
        training_file=training,
        validation_file=validation,
        suffix="support",
        metadata={"team": "ml"},
    )
    assert created.status == "validating_files"
    assert created.hyperparameters.n_epochs == "auto"

    emu.reset_log()
    emu.wait_for(created.id, "succeeded", timeout=5)
    assert emu.requests == [], "the job must progress without anyone polling"

    job = client.fine_tuning.jobs.retrieve(created.id)
    assert job.status == "succeeded"
    assert job.fine_tuned_model is not None
    assert job.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:tunebot-emulator:support:")
    assert job.hyperparameters.n_epochs == 9  # 12 examples x 9 epochs >= 100
    assert job.trained_tokens == len(data.split()) * 9
    assert job.finished_at is not None and job.estimated_finish is None
    assert job.metadata == {"team": "ml"}

    events = list(client.fine_tuning.jobs.list_events(job.id, limit=5))
    assert events[0].message == "The job has successfully completed"
    assert events[-1].message == f"Validating training file: {training}"
    metrics: list[dict[str, Any]] = [
        cast(dict[str, Any], e.data) for e in reversed(events) if e.type == "metrics"
    ]
    assert [m["step"] for m in metrics] == list(range(1, 7))
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"]
    assert {"valid_loss", "valid_mean_token_accuracy", "total_steps"} <= set(metrics[0])

    raw = client.files.content(job.result_files[0]).read()
    rows = base64.b64decode(raw).decode().splitlines()
    assert rows[0] == "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
    assert len(rows) == 7 and rows[1].startswith("1,")

    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert checkpoints and checkpoints[0].step_number == 6
    assert checkpoints[0].fine_tuned_model_checkpoint.startswith(job.fine_tuned_model + ":ckpt-")

    assert job.fine_tuned_model in {m.id for m in client.models.list()}
    reply = client.chat.completions.create(
        model=job.fine_tuned_model, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.model == job.fine_tuned_model
    assert reply.choices[0].message.content == "Hello from the emulated model."


def test_too_few_examples_fail_in_validation_like_the_api(
    emu: OpenAIEmulator, client: OpenAI
) -> None:
    job_id = start_job(client, examples=3)
    emu.wait_for(job_id, "failed", timeout=5)
    job = client.fine_tuning.jobs.retrieve(job_id)
    assert job.error is not None
    assert job.error.code == "invalid_training_file"
    assert job.error.param == "training_file"
    assert job.error.message == (
        "The job failed due to an invalid training file. Training file has 3 example(s), "
        "but must have at least 10 examples"
    )
    assert job.fine_tuned_model is None and job.result_files == []


def test_creation_is_validated_with_the_apis_messages(client: OpenAI) -> None:
    training = upload(client, chat_examples(12))
    with pytest.raises(openai.BadRequestError) as unknown:
        client.fine_tuning.jobs.create(model="gpt-9-ultra", training_file=training)
    assert unknown.value.body == {
        "message": "Model gpt-9-ultra is not available for fine-tuning or does not exist.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_available",
    }
    with pytest.raises(openai.BadRequestError, match="invalid training_file: file-nope"):
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file="file-nope")
    other = client.files.create(file=("notes.txt", io.BytesIO(b"x")), purpose="assistants")
    with pytest.raises(openai.BadRequestError, match="purpose") as purpose:
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=other.id)
    assert purpose.value.param == "training_file"
    with pytest.raises(openai.BadRequestError) as epochs:
        client.fine_tuning.jobs.create(
            model="gpt-4o-mini",
            training_file=training,
            method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 0}}},
        )
    assert epochs.value.param == "method.supervised.hyperparameters.n_epochs"
    with pytest.raises(openai.NotFoundError, match="No such File object: file-gone"):
        client.files.retrieve("file-gone")


def test_wrong_or_missing_key_is_rejected(emu: OpenAIEmulator) -> None:
    wrong = OpenAI(base_url=emu.base_url, api_key="sk-wrong-0000000000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.models.list()
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert caught.value.message.startswith("Error code: 401")
    assert "Incorrect API key provided: sk-" in str(caught.value.body)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(emu.base_url + "/models", timeout=5)
    assert missing.value.code == 401
    assert set(json.load(missing.value)["error"]) == {"message", "type", "param", "code"}


def test_manual_steps_pause_resume_and_cancel(emu: OpenAIEmulator, client: OpenAI) -> None:
    emu.script = MANUAL
    job_id = start_job(client)
    time.sleep(0.05)
    assert client.fine_tuning.jobs.retrieve(job_id).status == "validating_files"
    assert [emu.advance(job_id) for _ in range(3)] == ["queued", "running", "running"]
    running = client.fine_tuning.jobs.retrieve(job_id)
    assert running.estimated_finish is not None

    assert client.fine_tuning.jobs.pause(job_id).status == "paused"  # type: ignore[comparison-overlap]
    with pytest.raises(openai.BadRequestError, match="not running"):
        client.fine_tuning.jobs.pause(job_id)
    assert client.fine_tuning.jobs.resume(job_id).status == "running"
    with pytest.raises(openai.BadRequestError, match="not paused"):
        client.fine_tuning.jobs.resume(job_id)

    assert client.fine_tuning.jobs.cancel(job_id).status == "cancelled"
    with pytest.raises(openai.BadRequestError) as again:
        client.fine_tuning.jobs.cancel(job_id)
    assert again.value.body["message"] == f"Job has already completed: {job_id}"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.cancel("ftjob-missing")


def test_finish_and_scripted_failure(emu: OpenAIEmulator, client: OpenAI) -> None:
    emu.script = MANUAL
    finished = emu.finish(start_job(client))
    assert finished["status"] == "succeeded"
    assert finished["fine_tuned_model"].startswith("ft:gpt-4o-mini-2024-07-18:tunebot-emulator::")

    error = {"code": "quota", "message": "Out of credits.", "param": None}
    emu.script = JobScript(
        validating_s=0.01,
        queued_s=0.01,
        steps=5,
        step_s=0.01,
        outcome="failed",
        error=error,
        fail_after_steps=2,
    )
    failing = start_job(client)
    emu.wait_for(failing, "failed", timeout=5)
    job = client.fine_tuning.jobs.retrieve(failing)
    assert job.error is not None and job.error.message == "Out of credits."
    steps = [e for e in client.fine_tuning.jobs.list_events(failing) if e.type == "metrics"]
    assert len(steps) == 2
    with pytest.raises(AssertionError, match="ended failed"):
        emu.wait_for(failing, "succeeded", timeout=1)

    emu.script = MANUAL
    frozen = start_job(client)
    time.sleep(0.05)
    assert emu.job(frozen)["status"] == "validating_files"
    emu.set_script(frozen, FAST)
    emu.wait_for(frozen, "succeeded", timeout=5)


def test_jobs_and_events_paginate_newest_first(emu: OpenAIEmulator, client: OpenAI) -> None:
    emu.script = MANUAL
    ids = [start_job(client, metadata={"n": str(n % 2)}) for n in range(5)]
    first = client.fine_tuning.jobs.list(limit=2)
    assert [job.id for job in first.data] == ids[::-1][:2]
    assert first.has_more is True
    assert [job.id for job in client.fine_tuning.jobs.list(limit=2)] == ids[::-1]
    after = client.fine_tuning.jobs.list(after=ids[1], limit=10)
    assert [job.id for job in after.data] == [ids[0]] and after.has_more is False
    odd = client.fine_tuning.jobs.list(metadata={"n": "1"})
    assert [job.id for job in odd.data] == [ids[3], ids[1]]

    emu.finish(ids[0])
    everything = client.fine_tuning.jobs.list_events(ids[0], limit=100).data
    paged = list(client.fine_tuning.jobs.list_events(ids[0], limit=3))
    assert [e.id for e in paged] == [e.id for e in everything]
    assert len(everything) > 10 and len({e.id for e in paged}) == len(paged)
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.list(limit=0)


def test_large_files_go_through_the_uploads_api(emu: OpenAIEmulator, client: OpenAI) -> None:
    data = chat_examples(12)
    emu.max_file_bytes = 200
    with pytest.raises(openai.BadRequestError) as too_big:
        upload(client, data)
    assert too_big.value.code == "file_too_large"

    done = client.uploads.upload_file_chunked(
        file=data,
        filename="train.jsonl",
        bytes=len(data),
        mime_type="text/jsonl",
        purpose="fine-tune",
        part_size=150,
    )
    assert done.status == "completed" and done.file is not None
    assert client.files.content(done.file.id).read() == data
    assert sum(1 for r in emu.requests if r.path.endswith("/parts")) == -(-len(data) // 150)

    short = client.uploads.create(
        filename="x.jsonl", purpose="fine-tune", bytes=10, mime_type="text/jsonl"
    )
    part = client.uploads.parts.create(short.id, data=b"12345")
    with pytest.raises(openai.BadRequestError, match="does not match"):
        client.uploads.complete(short.id, part_ids=[part.id])
    assert client.uploads.cancel(short.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="cancelled"):
        client.uploads.parts.create(short.id, data=b"12345")

    client.files.delete(done.file.id)
    assert done.file.id not in {f.id for f in client.files.list()}


def test_chat_streams_at_the_configured_rate(emu: OpenAIEmulator, client: OpenAI) -> None:
    emu.chat_reply = lambda messages: "You said: " + str(messages[-1]["content"])
    emu.tokens_per_second = 40
    started = time.monotonic()
    arrivals: list[float] = []
    pieces: list[str] = []
    usage = None
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "one two three four five six"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
            arrivals.append(time.monotonic() - started)
    assert "".join(pieces) == "You said: one two three four five six"
    assert len(pieces) == 9 and usage is not None and usage.completion_tokens == 9
    assert arrivals[-1] - arrivals[0] >= 0.1, "chunks must be flushed as they are produced"

    emu.tokens_per_second = 0
    cut = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "a"}], max_tokens=2
    )
    assert cut.choices[0].finish_reason == "length"
    assert cut.choices[0].message.content == "You said"


def test_a_stream_can_break_off_with_an_error_event(emu: OpenAIEmulator, client: OpenAI) -> None:
    emu.chat_reply = "one two three four five six"
    emu.stream_error_after = 3
    pieces: list[str] = []
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "count"}], stream=True
    )
    with pytest.raises(openai.APIError, match="server had an error"):
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    assert "".join(pieces) == "one two three"

    emu.stream_error_after = None
    whole = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "count"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in whole if c.choices) == (
        "one two three four five six"
    )


def test_context_window_and_endpoint_mismatches(emu: OpenAIEmulator, client: OpenAI) -> None:
    emu.context_window = 20
    with pytest.raises(openai.BadRequestError) as too_long:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "word " * 30}]
        )
    assert too_long.value.code == "context_length_exceeded"
    assert too_long.value.param == "messages"

    emu.context_window = None
    legacy = client.completions.create(model="davinci-002", prompt="Say hi", logprobs=2)
    logprobs = legacy.choices[0].logprobs
    assert logprobs is not None and logprobs.top_logprobs is not None
    assert len(logprobs.top_logprobs[0]) == 2
    with pytest.raises(openai.NotFoundError, match="chat model"):
        client.completions.create(model="gpt-4o-mini", prompt="Say hi")
    with pytest.raises(openai.NotFoundError, match="not a chat model"):
        client.chat.completions.create(
            model="babbage-002", messages=[{"role": "user", "content": "hi"}]
        )


def test_deleted_model_is_not_found(emu: OpenAIEmulator, client: OpenAI) -> None:
    emu.script = MANUAL
    model = emu.finish(start_job(client))["fine_tuned_model"]
    assert client.models.retrieve(model).id == model
    assert client.models.delete(model).deleted is True
    with pytest.raises(openai.NotFoundError) as gone:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert gone.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.models.delete(model)
    with pytest.raises(openai.PermissionDeniedError):
        client.models.delete("gpt-4o-mini-2024-07-18")


def test_injected_faults_and_retry_after(emu: OpenAIEmulator, client: OpenAI) -> None:
    emu.inject(r"/fine_tuning/jobs$", status=429, count=1, retry_after=2)
    with pytest.raises(openai.RateLimitError) as limited:
        client.fine_tuning.jobs.list()
    assert limited.value.code == "rate_limit_exceeded"
    assert limited.value.response.headers["retry-after"] == "2"
    assert limited.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert client.fine_tuning.jobs.list().data == []  # the count is used up

    emu.inject(r"/models", status=500, count=1)
    with pytest.raises(openai.InternalServerError):
        client.models.list()

    emu.reset_log()
    emu.inject(r"/models", status=429, count=1, retry_after=0.3)
    patient = client.with_options(max_retries=1)
    assert patient.models.list().data
    calls = [r for r in emu.requests if r.path == "/v1/models"]
    assert len(calls) == 2
    assert calls[1].time - calls[0].time >= 0.25, "the SDK waits as retry-after says"


def test_standalone_process_serves_and_is_steerable() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "tests.emulators.openai_emulator"]
    command += ["--port", "0", "--api-key", KEY, "--speed", "10"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        remote = OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
        assert "davinci-002" in {m.id for m in remote.models.list()}
        control = base_url.removesuffix("/v1") + "/_emulator/requests"
        with urllib.request.urlopen(control, timeout=5) as answer:
            log = json.load(answer)
        assert log["data"][0][:2] == ["GET", "/v1/models"]
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_stop_cuts_open_streams_and_leaves_no_threads() -> None:
    before = set(threading.enumerate())
    emu = OpenAIEmulator(api_key=KEY, tokens_per_second=20, chat_reply="word " * 100).start()
    sdk = OpenAI(base_url=emu.base_url, api_key=KEY, max_retries=0)
    stream = sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "go"}], stream=True
    )
    chunks = iter(stream)
    next(chunks)
    emu.stop()
    try:
        for _ in chunks:
            pass
    except Exception as error:  # the SDK's transport error class varies between versions
        cut: Exception | None = error
    else:
        cut = None
    assert cut is not None and "incomplete chunked read" in str(cut)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and set(threading.enumerate()) - before:
        time.sleep(0.02)
    assert set(threading.enumerate()) - before == set()
