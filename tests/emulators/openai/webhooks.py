"""Webhook delivery: `fine_tuning.job.succeeded|failed|cancelled`, signed, retried, recorded.

Jobs end under the state lock, where no network call may happen, so an ending only queues a
message here; one background thread posts it. A failed attempt (non-2xx or no answer) is put
back on a timetable with the next of `config.webhook_retry_delays` rather than slept on, so one
unhappy receiver never holds up other messages. Every attempt is recorded for tests to assert on.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple

import httpx

from .signing import new_webhook_id, signed_headers
from .state import EmulatorConfig, EmulatorState, JobRecord

EVENT_TYPES = {
    "succeeded": "fine_tuning.job.succeeded",
    "failed": "fine_tuning.job.failed",
    "cancelled": "fine_tuning.job.cancelled",
}
USER_AGENT = "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)"


class WebhookDelivery(NamedTuple):
    """One attempt; `status` is None when the receiver could not be reached or timed out."""

    type: str
    job_id: str
    status: int | None
    time: float  # wall-clock seconds (time.time()) when the attempt ended


@dataclass
class _Message:
    url: str
    webhook_id: str
    type: str
    job_id: str
    body: bytes
    attempt: int = 0


class WebhookSender(threading.Thread):
    """Listens for job endings and posts them to `config.webhook_url`."""

    def __init__(self, state: EmulatorState) -> None:
        super().__init__(name="openai-emulator-webhooks", daemon=True)
        self._config: EmulatorConfig = state.config
        self._wake = threading.Condition(threading.Lock())
        self._due: list[tuple[float, int, _Message]] = []
        self._order = itertools.count()
        self._stopping = False
        self._deliveries: list[WebhookDelivery] = []
        state.job_listeners.append(self.job_ended)

    def job_ended(self, job: JobRecord) -> None:
        """Queue the event for a job that just ended (called with the state lock held)."""
        config = self._config
        if not config.webhooks_enabled or not config.webhook_url or job.status not in EVENT_TYPES:
            return
        event = {
            "id": "evt_" + new_webhook_id().removeprefix("wh_"),
            "object": "event",
            "created_at": int(time.time()),
            "type": EVENT_TYPES[job.status],
            "data": {"id": job.id},
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        webhook_id = new_webhook_id()
        now = time.monotonic()
        with self._wake:
            for _ in range(2 if config.webhook_duplicate else 1):
                message = _Message(config.webhook_url, webhook_id, str(event["type"]), job.id, body)
                heapq.heappush(self._due, (now, next(self._order), message))
            self._wake.notify_all()

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        with self._wake:
            return list(self._deliveries)

    def reset(self) -> None:
        with self._wake:
            self._deliveries.clear()

    def wait_for(self, count: int, timeout: float) -> list[WebhookDelivery]:
        """Block until at least `count` attempts are recorded; then all of them."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while len(self._deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{len(self._deliveries)} webhook attempt(s) after {timeout}s, "
                        f"waiting for {count}: {self._deliveries}"
                    )
                self._wake.wait(remaining)
            return list(self._deliveries)

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self.is_alive():
            self.join(timeout=5)

    def run(self) -> None:
        with httpx.Client(trust_env=False) as client:
            while True:
                message = self._next_due()
                if message is None:
                    return
                status = self._post(client, message)
                with self._wake:
                    self._deliveries.append(
                        WebhookDelivery(message.type, message.job_id, status, time.time())
                    )
                    self._wake.notify_all()
                    if status is None or not 200 <= status < 300:
                        self._retry_later(message)

    def _next_due(self) -> _Message | None:
        with self._wake:
            while not self._stopping:
                wait = self._due[0][0] - time.monotonic() if self._due else None
                if wait is not None and wait <= 0:
                    return heapq.heappop(self._due)[2]
                self._wake.wait(wait)
            return None

    def _retry_later(self, message: _Message) -> None:
        delays = self._config.webhook_retry_delays
        if message.attempt >= len(delays):
            return
        due = time.monotonic() + delays[message.attempt]
        message.attempt += 1
        heapq.heappush(self._due, (due, next(self._order), message))

    def _post(self, client: httpx.Client, message: _Message) -> int | None:
        headers = signed_headers(
            message.body, secret=self._config.webhook_secret, webhook_id=message.webhook_id
        )
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        try:
            response = client.post(
                message.url,
                content=message.body,
                headers=headers,
                timeout=self._config.webhook_timeout,
            )
        except httpx.HTTPError:
            return None
        return response.status_code
