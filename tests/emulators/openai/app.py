"""The request pipeline (log, auth, faults, route, error envelope) and the test controls.

`Application` knows nothing about sockets: the HTTP server hands it a `Request` and writes the
`Response` it returns, which keeps every behaviour testable and the server thin.
"""

from __future__ import annotations

import re
import sys
import time
import traceback
from collections.abc import Collection
from typing import Any

from . import chat_api, files_api, jobs_api, lifecycle, models_api, seeding
from .errors import ApiError, invalid_api_key, invalid_url, missing_api_key, server_error
from .faults import FaultRule, Faults, RequestLog
from .httpio import JsonResponse, Request, Response, Route
from .script import JobScript, Outcome
from .state import EmulatorConfig, EmulatorState
from .webhooks import WebhookSender

API_ROUTES: list[Route] = [
    *files_api.ROUTES,
    *jobs_api.ROUTES,
    *models_api.ROUTES,
    *chat_api.ROUTES,
]
CONTROL_PREFIX = "/_emulator/"


class Application:
    def __init__(self, config: EmulatorConfig) -> None:
        self.state = EmulatorState(config)
        self.faults = Faults(self.state.lock)
        self.log = RequestLog(self.state.lock)
        self.clock = lifecycle.Clock(self.state)
        self.webhooks = WebhookSender(self.state)
        self.control_routes: list[Route] = []
        self.accounts: dict[str, Application] = {}
        """Other accounts served at the same address, by API key: as at OpenAI, the key
        alone decides whose jobs, files and models a request sees."""

    def handle(self, request: Request) -> Response:
        if self.accounts and not request.path.startswith(CONTROL_PREFIX):
            _, _, key = request.headers.get("authorization", "").partition(" ")
            account = self.accounts.get(key.strip())
            if account is not None:
                return account.handle(request)
        self.log.record(request.method, request.path, request.query_string)
        try:
            if request.path.startswith(CONTROL_PREFIX):
                return self._dispatch(self.control_routes, request, self)
            self._authenticate(request)
            self._apply_fault(request)
            return self._dispatch(API_ROUTES, request, self.state)
        except ApiError as error:
            return JsonResponse(error.body(), error.status, dict(error.headers))
        except Exception:
            traceback.print_exc(file=sys.stderr)
            failure = server_error()
            return JsonResponse(failure.body(), failure.status)

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise missing_api_key()
        if key.strip() != self.state.config.api_key:
            raise invalid_api_key(key.strip())

    def _apply_fault(self, request: Request) -> None:
        rule = self.faults.take(request.method, request.path)
        if rule is None:
            return
        if rule.delay > 0:
            self.state.stopping.wait(rule.delay)
        error = rule.error()
        if error is not None:
            raise error

    @staticmethod
    def _dispatch(routes: list[Route], request: Request, context: Any) -> Response:
        for route in routes:
            if route.method != request.method:
                continue
            params = route.match(request.path)
            if params is not None:
                request.params = params
                return route.handler(context, request)
        raise invalid_url(request.method, request.path)

    # -- controls for tests (also reachable over HTTP under /_emulator/) --------------------

    def inject(
        self,
        path_regex: str,
        status: int | None = 500,
        count: int = 1,
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
        *,
        method: str | None = None,
        delay: float = 0.0,
    ) -> None:
        rule = FaultRule(re.compile(path_regex), status, count, retry_after, body, method, delay)
        self.faults.add(rule)

    def advance(self, job_id: str) -> str:
        with self.state.lock:
            job = jobs_api.find_job(self.state, job_id)
            lifecycle.step(self.state, job)
            return job.status

    def finish(
        self, job_id: str, outcome: Outcome = "succeeded", error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        with self.state.lock:
            job = jobs_api.find_job(self.state, job_id)
            lifecycle.finish(self.state, job, outcome, error)
            return job.to_api()

    def set_script(self, job_id: str, script: JobScript) -> None:
        with self.state.lock:
            job = jobs_api.find_job(self.state, job_id)
            job.script = script
            lifecycle.reschedule(self.state, job)

    def create_jobs(
        self,
        count: int,
        *,
        model: str,
        training_file: str | None = None,
        status: str = "queued",
        script: JobScript | None = None,
        metadata: dict[str, str] | None = None,
    ) -> list[str]:
        with self.state.lock:
            return seeding.create_jobs(
                self.state,
                count,
                model=model,
                training_file=training_file,
                status=status,
                script=script,
                metadata=metadata,
            )

    def set_status(self, job_id: str, status: str, script: JobScript | None = None) -> str:
        with self.state.lock:
            job = jobs_api.find_job(self.state, job_id)
            seeding.move_to(self.state, job, status, script)
            return job.status

    def job(self, job_id: str) -> dict[str, Any]:
        with self.state.lock:
            return jobs_api.find_job(self.state, job_id).to_api()

    def wait_for(
        self, job_id: str, status: str | Collection[str], timeout: float = 5.0
    ) -> dict[str, Any]:
        """Block until the job reaches `status`; fail fast if it ends in another state."""
        wanted = {status} if isinstance(status, str) else set(status)
        deadline = time.monotonic() + timeout
        with self.state.changed:
            while True:
                job = jobs_api.find_job(self.state, job_id)
                if job.status in wanted:
                    return job.to_api()
                if job.finished:
                    raise AssertionError(
                        f"job {job_id} ended {job.status} (error={job.error}), "
                        f"never reaching {sorted(wanted)}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"job {job_id} still {job.status} after {timeout}s, "
                        f"waiting for {sorted(wanted)}"
                    )
                self.state.changed.wait(remaining)
