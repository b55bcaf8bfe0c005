"""The OpenAI emulator's webhooks, bulk jobs, request accounting and fast job listing.

Webhooks go to a real HTTP receiver on 127.0.0.1 and are checked with the SDK's own
`webhooks.unwrap`, so a signature the emulator gets wrong fails here, not in the bot.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.emulators.openai_emulator import JobScript, OpenAIEmulator

KEY = "sk-test-emulator-0123456789"
FAST = JobScript(validating_s=0.01, queued_s=0.01, steps=3, step_s=0.01)
MANUAL = JobScript(steps=4, manual=True)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """A webhook endpoint: answers with the queued statuses first, then 200, and keeps all."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._arrived:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(Received(headers, body, time.monotonic()))
                    receiver._arrived.notify_all()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/openai/webhooks"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def wait(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"{len(self.received)} webhook(s) arrived, wanted {count}")
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def emu(receiver: Receiver) -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(api_key=KEY, script=FAST, webhook_url=receiver.url) as emulator:
        emulator.webhook_retry_delays = (0.05, 0.1, 0.2)
        yield emulator


@pytest.fixture
def client(emu: OpenAIEmulator) -> Iterator[OpenAI]:
    with OpenAI(
        base_url=emu.base_url, api_key=KEY, webhook_secret=emu.webhook_secret, max_retries=0
    ) as sdk:
        yield sdk


def chat_examples(count: int) -> bytes:
    line = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    return (json.dumps(line) + "\n").encode() * count


def start_job(client: OpenAI, metadata: dict[str, str] | None = None) -> str:
    training = client.files.create(
        file=("train.jsonl", io.BytesIO(chat_examples(10))), purpose="fine-tune"
    )
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18", training_file=training.id, metadata=metadata
    )
    return job.id


def test_each_ending_is_delivered_signed_as_the_sdk_verifies_it(
    emu: OpenAIEmulator, client: OpenAI, receiver: Receiver
) -> None:
    assert emu.webhook_secret.startswith("whsec_")
    assert len(base64.b64decode(emu.webhook_secret.removeprefix("whsec_"))) >= 24
    succeeded = start_job(client)
    emu.script = MANUAL
    cancelled, failed = start_job(client), start_job(client)
    emu.wait_for(succeeded, "succeeded")
    client.fine_tuning.jobs.cancel(cancelled)
    emu.finish(failed, "failed")

    arrived = receiver.wait(3)
    events = [client.webhooks.unwrap(r.body, r.headers) for r in arrived]
    assert [(e.type, e.data.id) for e in events] == [
        ("fine_tuning.job.succeeded", succeeded),
        ("fine_tuning.job.cancelled", cancelled),
        ("fine_tuning.job.failed", failed),
    ]
    assert all(e.object == "event" and e.id.startswith("evt_") for e in events)
    assert all(abs(e.created_at - time.time()) < 30 for e in events)
    first = arrived[0].headers
    assert first["webhook-id"].startswith("wh_") and first["content-type"] == "application/json"
    assert abs(int(first["webhook-timestamp"]) - time.time()) < 30
    assert len({r.headers["webhook-id"] for r in arrived}) == 3
    deliveries = emu.wait_for_webhooks(3)
    assert [(d.type, d.job_id, d.status) for d in deliveries] == [
        ("fine_tuning.job.succeeded", succeeded, 200),
        ("fine_tuning.job.cancelled", cancelled, 200),
        ("fine_tuning.job.failed", failed, 200),
    ]


def test_forged_tampered_or_stale_deliveries_are_rejected_by_unwrap(
    emu: OpenAIEmulator, client: OpenAI, receiver: Receiver
) -> None:
    job_id = start_job(client)
    real = receiver.wait(1)[0]
    assert client.webhooks.unwrap(real.body, real.headers).data.id == job_id

    tampered = real.body.replace(b"succeeded", b"cancelled")
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.unwrap(tampered, real.headers)
    forged = emu.sign_webhook(tampered, secret="whsec_" + base64.b64encode(b"x" * 32).decode())
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.unwrap(tampered, forged)
    stale = emu.sign_webhook(real.body, timestamp=int(time.time()) - 3600)
    with pytest.raises(openai.InvalidWebhookSignatureError, match="too old"):
        client.webhooks.unwrap(real.body, stale)

    replay = emu.sign_webhook(real.body, webhook_id=real.headers["webhook-id"])
    assert replay["webhook-id"] == real.headers["webhook-id"]
    assert replay["webhook-signature"].startswith("v1,")
    assert client.webhooks.unwrap(real.body, replay).type == "fine_tuning.job.succeeded"


def test_a_failing_receiver_gets_retries_with_backoff_then_success(
    emu: OpenAIEmulator, client: OpenAI, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    job_id = start_job(client)
    arrived = receiver.wait(3)
    assert len({r.headers["webhook-id"] for r in arrived}) == 1, "a retry keeps its id"
    assert all(client.webhooks.unwrap(r.body, r.headers).data.id == job_id for r in arrived)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(arrived)]
    assert gaps[0] >= 0.05 - 0.01 and gaps[1] >= 0.1 - 0.01
    assert [d.status for d in emu.wait_for_webhooks(3)] == [500, 503, 200]

    time.sleep(0.3)
    assert len(receiver.received) == 3, "a 2xx ends the retries"


def test_an_unreachable_receiver_is_tried_a_bounded_number_of_times(
    emu: OpenAIEmulator, client: OpenAI, receiver: Receiver
) -> None:
    receiver.close()
    emu.webhook_retry_delays = (0.02, 0.02)
    job_id = start_job(client)
    attempts = emu.wait_for_webhooks(3)
    assert [(d.job_id, d.status) for d in attempts] == [(job_id, None)] * 3
    time.sleep(0.2)
    assert len(emu.webhook_deliveries) == 3


def test_duplicates_when_asked_and_silence_when_disabled(
    emu: OpenAIEmulator, client: OpenAI, receiver: Receiver
) -> None:
    emu.webhooks_enabled = False
    quiet = start_job(client)
    emu.wait_for(quiet, "succeeded")
    emu.webhooks_enabled = True
    emu.webhook_duplicate = True
    twice = start_job(client)

    arrived = receiver.wait(2)
    time.sleep(0.1)
    assert len(receiver.received) == 2, "the disabled job's ending was never queued"
    assert arrived[0].body == arrived[1].body
    assert arrived[0].headers["webhook-id"] == arrived[1].headers["webhook-id"]
    assert {client.webhooks.unwrap(r.body, r.headers).data.id for r in arrived} == {twice}
    assert [d.job_id for d in emu.webhook_deliveries] == [twice, twice]


def test_a_thousand_jobs_page_newest_first_quickly_and_stay_quiet(
    emu: OpenAIEmulator, client: OpenAI, receiver: Receiver
) -> None:
    began = time.monotonic()
    ids = emu.create_jobs(1000, metadata={"bench": "yes"})
    tagged = start_job(client, metadata={"team": "ml"})
    listed = [job.id for job in client.fine_tuning.jobs.list(limit=37)]
    assert time.monotonic() - began < 2.0
    assert listed == [tagged, *reversed(ids)]

    last_two = client.fine_tuning.jobs.list(limit=2, after=ids[2])
    assert [job.id for job in last_two.data] == [ids[1], ids[0]]
    assert last_two.has_more is False
    assert client.fine_tuning.jobs.list(limit=1, after=ids[3]).has_more is True
    assert client.fine_tuning.jobs.list(after="ftjob-unknown").data == []

    assert client.fine_tuning.jobs.retrieve(tagged).metadata == {"team": "ml"}
    only = client.fine_tuning.jobs.list(metadata={"team": "ml"})
    assert [(job.id, job.metadata) for job in only.data] == [(tagged, {"team": "ml"})]
    assert client.fine_tuning.jobs.list(limit=1).data[0].metadata == {"team": "ml"}
    assert client.fine_tuning.jobs.list(limit=2).data[1].metadata == {"bench": "yes"}

    training = client.files.retrieve(client.fine_tuning.jobs.retrieve(ids[0]).training_file)
    assert training.purpose == "fine-tune"
    emu.wait_for(tagged, "succeeded")
    assert {emu.job(job_id)["status"] for job_id in ids} == {"queued"}
    assert len(client.fine_tuning.jobs.list_events(ids[500], limit=100).data) == 3


def test_seeded_jobs_move_when_told_and_running_ones_report_metrics(
    emu: OpenAIEmulator, client: OpenAI, receiver: Receiver
) -> None:
    stepped, timed, frozen = emu.create_jobs(3)
    assert emu.set_status(stepped, "running") == "running"
    emu.advance(stepped)
    emu.advance(stepped)
    metrics = [
        event.data
        for event in client.fine_tuning.jobs.list_events(stepped, limit=100).data
        if event.type == "metrics"
    ]
    assert [(m["step"], m["total_steps"]) for m in reversed(metrics)] == [(1, 10), (2, 10)]
    assert emu.job(stepped)["estimated_finish"] is not None

    emu.set_status(timed, "running", script=JobScript(steps=4, step_s=0.01))
    emu.wait_for(timed, "succeeded")
    events = client.fine_tuning.jobs.list_events(timed, limit=100).data
    assert sum(1 for event in events if event.type == "metrics") == 4

    emu.set_status(stepped, "succeeded")
    done = client.fine_tuning.jobs.retrieve(stepped)
    assert done.fine_tuned_model and done.trained_tokens
    assert {(d.job_id, d.status) for d in emu.wait_for_webhooks(2)} == {
        (timed, 200),
        (stepped, 200),
    }
    with pytest.raises(ValueError, match="cannot go back"):
        emu.set_status(emu.create_jobs(1, status="running")[0], "queued")
    assert emu.set_status(frozen, "paused") == "paused"
    assert emu.set_status(frozen, "running") == "running"

    history = emu.create_jobs(2, status="succeeded") + emu.create_jobs(1, status="failed")
    assert [emu.job(job_id)["status"] for job_id in history] == ["succeeded"] * 2 + ["failed"]
    assert emu.job(history[0])["fine_tuned_model"]
    time.sleep(0.1)
    assert len(receiver.received) == 2, "seeded endings are history, not news"


def test_requests_tell_list_pages_and_events_apart(emu: OpenAIEmulator, client: OpenAI) -> None:
    _, middle, _ = emu.create_jobs(3)
    newest = emu.create_jobs(1)[0]
    emu.reset_log()
    list(client.fine_tuning.jobs.list(limit=3))
    halfway = time.time()
    client.fine_tuning.jobs.list_events(newest, limit=5)
    list(client.fine_tuning.jobs.list(limit=4))

    listing = [r for r in emu.requests if r.path == "/v1/fine_tuning/jobs"]
    assert [r.query for r in listing] == ["limit=3", f"limit=3&after={middle}", "limit=4"]
    assert listing[1].target == f"/v1/fine_tuning/jobs?limit=3&after={middle}"
    assert emu.requests[2].target == f"/v1/fine_tuning/jobs/{newest}/events?limit=5"
    assert emu.count("GET", r"/v1/fine_tuning/jobs") == 3
    assert emu.count("get", r"/v1/fine_tuning/jobs\?.*after=.*") == 1
    assert emu.count("GET", r"/v1/fine_tuning/jobs/[^/]+/events") == 1
    assert emu.count("GET", r"/v1/fine_tuning/jobs/[^/]+/events\?limit=5") == 1
    assert emu.count("GET", r"/v1/fine_tuning/jobs", since=halfway) == 1
    assert emu.count(None, r"/v1/fine_tuning/jobs.*") == 4
    assert emu.count("POST", r"/v1/fine_tuning/jobs") == 0


def test_bulk_jobs_status_and_webhook_log_over_http(
    emu: OpenAIEmulator, receiver: Receiver
) -> None:
    def post(path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            emu.url + path, json.dumps(body).encode(), {"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.load(answer)

    ids = post("/_emulator/jobs", {"n": 2, "status": "running"})["ids"]
    assert [emu.job(job_id)["status"] for job_id in ids] == ["running", "running"]
    assert post(f"/_emulator/jobs/{ids[0]}/status", {"status": "cancelled"}) == {
        "status": "cancelled"
    }
    receiver.wait(1)
    emu.wait_for_webhooks(1)
    with urllib.request.urlopen(emu.url + "/_emulator/webhooks", timeout=5) as answer:
        log = json.load(answer)["data"]
    assert [entry[:3] for entry in log] == [["fine_tuning.job.cancelled", ids[0], 200]]
