"""`OpenAIEmulator`: the object tests hold: start/stop, knobs, faults, the log, job controls."""

from __future__ import annotations

import threading
from collections.abc import Collection
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

from . import control_api
from .app import Application
from .faults import RecordedRequest
from .script import JobScript, Outcome
from .server import EmulatorHTTPServer
from .signing import new_secret, signed_headers
from .state import (
    DEFAULT_MAX_FILE_BYTES,
    ChatReply,
    CompletionRecord,
    EmulatorConfig,
    ScriptChoice,
)
from .webhooks import WebhookDelivery

T = TypeVar("T")


class _Setting(Generic[T]):
    """An emulator attribute that reads and writes the live config the server consults."""

    name: str

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> _Setting[T]: ...
    @overload
    def __get__(self, instance: OpenAIEmulator, owner: type) -> T: ...
    def __get__(self, instance: OpenAIEmulator | None, owner: type) -> _Setting[T] | T:
        if instance is None:
            return self
        value: T = getattr(instance.app.state.config, self.name)
        return value

    def __set__(self, instance: OpenAIEmulator, value: T) -> None:
        setattr(instance.app.state.config, self.name, value)


class OpenAIEmulator:
    """A stateful stand-in for the OpenAI API on 127.0.0.1, for end-to-end tests and benches.

    Use as a context manager; point a client at `base_url`. Settings below may be changed at
    any time and apply to the next request (scripts: to the next job created).
    """

    script: _Setting[ScriptChoice] = _Setting()
    speed: _Setting[float] = _Setting()
    chat_reply: _Setting[ChatReply] = _Setting()
    tokens_per_second: _Setting[float] = _Setting()
    stream_error_after: _Setting[int | None] = _Setting()
    context_window: _Setting[int | None] = _Setting()
    max_file_bytes: _Setting[int] = _Setting()
    results_base64: _Setting[bool] = _Setting()
    organization: _Setting[str] = _Setting()
    webhook_url: _Setting[str | None] = _Setting()
    webhook_secret: _Setting[str] = _Setting()
    webhooks_enabled: _Setting[bool] = _Setting()
    webhook_duplicate: _Setting[bool] = _Setting()
    webhook_retry_delays: _Setting[tuple[float, ...]] = _Setting()
    webhook_timeout: _Setting[float] = _Setting()

    def __init__(
        self,
        api_key: str = "sk-test-emulator",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        script: ScriptChoice | None = None,
        organization: str = "tunebot-emulator",
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        chat_reply: ChatReply = "Hello from the emulated model.",
        tokens_per_second: float = 0.0,
        context_window: int | None = None,
        results_base64: bool = True,
        seed: int = 0,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        config = EmulatorConfig(
            api_key=api_key,
            organization=organization,
            script=script or JobScript(),
            speed=speed,
            max_file_bytes=max_file_bytes,
            chat_reply=chat_reply,
            tokens_per_second=tokens_per_second,
            context_window=context_window,
            results_base64=results_base64,
            seed=seed,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret or new_secret(),
        )
        self.api_key = api_key
        self.app = Application(config)
        self.app.control_routes = control_api.ROUTES
        self._address = (host, port)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._host: OpenAIEmulator | None = None
        self._accounts: list[OpenAIEmulator] = []

    def add_account(
        self,
        api_key: str,
        *,
        organization: str,
        script: ScriptChoice | None = None,
        seed: int | None = None,
    ) -> OpenAIEmulator:
        """Another OpenAI account (organization) served at this emulator's address.

        Requests with `api_key` see only that account's jobs, files and models, and this
        account's key sees none of its: how two workspaces with keys of their own are kept
        apart. The returned emulator has every control of this one (script, faults, the log,
        job moves) for its own account. Its id generator is seeded apart from this one's,
        so the two never hand out the same id.
        """
        if api_key == self.api_key or api_key in self.app.accounts:
            raise ValueError("that key already belongs to an account here")
        account = OpenAIEmulator(
            api_key,
            organization=organization,
            script=script or self.script,
            speed=self.speed,
            seed=seed if seed is not None else len(self.app.accounts) + 1,
        )
        account._host = self
        account.app.state.config.organization_id = f"org-{organization}"
        self.app.accounts[api_key] = account.app
        self._accounts.append(account)
        if self._server is not None:
            account._start_clocks()
        return account

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> OpenAIEmulator:
        if self._host is not None:
            raise RuntimeError("an added account runs with the emulator it was added to")
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._server = EmulatorHTTPServer(self._address, self.app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="openai-emulator-http",
            daemon=True,
        )
        self._thread.start()
        self._start_clocks()
        for account in self._accounts:
            account._start_clocks()
        return self

    def _start_clocks(self) -> None:
        self.app.clock.start()
        self.app.webhooks.start()

    def stop(self) -> None:
        for account in self._accounts:
            account.stop()
        state = self.app.state
        with state.changed:
            state.stopping.set()
            state.changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.app.clock.is_alive():
            self.app.clock.join(timeout=5)
        self.app.webhooks.stop()

    def __enter__(self) -> OpenAIEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._host is not None:
            return self._host.port
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The server root (control paths live under `/_emulator/`)."""
        host = self._host._address[0] if self._host is not None else self._address[0]
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as the client's `base_url`."""
        return self.url + "/v1"

    # -- observing and steering --------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of (method, path, time, query) for every request so far, oldest first."""
        return self.app.log.snapshot()

    def count(self, method: str | None, path_regex: str, since: float | None = None) -> int:
        """How many requests with `method` (None: any) arrived at or after `since` (time.time()).

        `path_regex` must match the whole path or the whole ``path?query``: ``/v1/models``
        counts every call to it, ``/v1/fine_tuning/jobs\\?.*after=.*`` only later list pages.
        """
        return self.app.log.count(method, path_regex, since)

    @property
    def completions(self) -> list[CompletionRecord]:
        """Every chat/legacy completion answered so far: request body and token times."""
        with self.app.state.lock:
            return list(self.app.state.completions)

    def reset_log(self) -> None:
        self.app.log.reset()

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
        """Fail the next `count` requests whose path matches (`re.search`).

        429 carries `retry-after` and `x-ratelimit-*` headers; `status=None` with `delay`
        only slows the matching requests (for client timeouts).
        """
        self.app.inject(path_regex, status, count, retry_after, body, method=method, delay=delay)

    def clear_faults(self) -> None:
        self.app.faults.clear()

    def advance(self, job_id: str) -> str:
        """Move a job one step (a phase change or one training step); return its status."""
        return self.app.advance(job_id)

    def finish(
        self, job_id: str, outcome: Outcome = "succeeded", error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """End a job now with `outcome`; returns the job as the API would show it."""
        return self.app.finish(job_id, outcome, error)

    def set_script(self, job_id: str, script: JobScript) -> None:
        """Re-script a job that already exists (e.g. `JobScript(manual=True)` to freeze it)."""
        self.app.set_script(job_id, script)

    def job(self, job_id: str) -> dict[str, Any]:
        return self.app.job(job_id)

    def create_jobs(
        self,
        n: int,
        *,
        model: str = "gpt-4o-mini-2024-07-18",
        training_file: str | None = None,
        status: str = "queued",
        script: JobScript | None = None,
        metadata: dict[str, str] | None = None,
    ) -> list[str]:
        """Create `n` jobs straight in the state (oldest first), already at `status`.

        Without `training_file` they share one valid file uploaded behind the scenes. The
        default script is `JobScript(manual=True)`: the jobs stay exactly where they are until
        `advance`, `finish` or `set_status` moves them. Jobs seeded as already ended send no
        webhooks.
        """
        return self.app.create_jobs(
            n,
            model=model,
            training_file=training_file,
            status=status,
            script=script,
            metadata=metadata,
        )

    def set_status(self, job_id: str, status: str, *, script: JobScript | None = None) -> str:
        """Move a job forward to `status` through the lifecycle's own steps; return the status.

        Moving to `running` emits the "started" event; to `succeeded`, every remaining metrics
        event and the model; any ending sends its webhook. With `script` the job is re-scripted
        first, e.g. `set_status(id, "running", script=JobScript(steps=50, step_s=0.2))` to have
        a frozen job train (one metrics event per step) and finish on its own.
        """
        return self.app.set_status(job_id, status, script)

    # -- webhooks ------------------------------------------------------------------------

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every delivery attempt so far: (event type, job id, status or None, time)."""
        return self.app.webhooks.deliveries

    def reset_webhook_deliveries(self) -> None:
        self.app.webhooks.reset()

    def wait_for_webhooks(self, count: int, timeout: float = 5.0) -> list[WebhookDelivery]:
        """Block until at least `count` delivery attempts are recorded; return them all."""
        return self.app.webhooks.wait_for(count, timeout)

    def sign_webhook(
        self,
        body: bytes,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        webhook_id: str | None = None,
    ) -> dict[str, str]:
        """The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers for `body`.

        Defaults: this emulator's secret, now, a fresh id; for forging and replaying deliveries.
        """
        return signed_headers(
            body,
            secret=self.webhook_secret if secret is None else secret,
            webhook_id=webhook_id,
            timestamp=timestamp,
        )

    def wait_for(
        self, job_id: str, status: str | Collection[str], timeout: float = 5.0
    ) -> dict[str, Any]:
        return self.app.wait_for(job_id, status, timeout)
