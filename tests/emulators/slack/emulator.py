"""`SlackEmulator`: a stateful Slack workspace on 127.0.0.1 for end-to-end tests.

    with SlackEmulator(bot_token="xoxb-test", signing_secret="s3cret", team_id="T001") as slack:
        app = App(client=WebClient(token="xoxb-test", base_url=slack.api_url), ...)
        slack.app_url = "http://127.0.0.1:3000/slack/events"
        ts = slack.mention(ALICE, GENERAL, "help")
        slack.wait_for(lambda: slack.messages(GENERAL, thread_ts=ts)[1:])

The app talks to it through the real Web API over HTTP; the test acts as the people in the
workspace (see `WorkspaceActor`) and asserts on copies of what the workspace now holds.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from tests.emulators.slack.actor import WorkspaceActor
from tests.emulators.slack.delivery import AppDeliverer
from tests.emulators.slack.faults import Faults
from tests.emulators.slack.http_server import EmulatorServer
from tests.emulators.slack.records import (
    ApiCall,
    Channel,
    Delivery,
    Ephemeral,
    JsonDict,
    Message,
    ResponsePost,
    StoredFile,
    User,
    View,
)
from tests.emulators.slack.workspace import Workspace

T = TypeVar("T")


class SlackEmulator(WorkspaceActor):
    """A Slack workspace: Web API, file host, and the signed requests Slack sends to apps."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        signing_secret: str = "emulator-signing-secret",
        team_id: str = "T001",
        *,
        app_url: str | None = None,
        app_timeout: float = 3.0,
        max_retries: int = 3,
        retry_delays: tuple[float, ...] = (0.0, 0.0, 0.0),
    ) -> None:
        workspace = Workspace(bot_token=bot_token, team_id=team_id)
        deliverer = AppDeliverer(workspace, signing_secret)
        deliverer.policy.timeout = app_timeout
        deliverer.policy.max_retries = max_retries
        deliverer.policy.retry_delays = retry_delays
        super().__init__(workspace, deliverer)
        self.app_url = app_url
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self._faults = Faults()
        self._server: EmulatorServer | None = None
        self._foreign: EmulatorServer | None = None
        self._echo_queue: queue.Queue[JsonDict | None] = queue.Queue()
        self._echo_thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        self._server = EmulatorServer(self._ws, self._faults)
        self._foreign = EmulatorServer(self._ws, self._faults, foreign=True)
        self._ws.file_host = self._server.host
        self._ws.foreign_host = self._foreign.host
        self._server.start()
        self._foreign.start()
        return self

    def stop(self) -> None:
        self.echo_app_events = False
        for server in (self._server, self._foreign):
            if server is not None:
                server.stop()
        self._server = self._foreign = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses and identities ------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Base URL for `WebClient(base_url=...)`; ends with `/api/` like Slack's."""
        return f"http://{self.file_host}/api/"

    @property
    def file_host(self) -> str:
        if not self._ws.file_host:
            raise RuntimeError("the emulator is not started")
        return self._ws.file_host

    @property
    def foreign_host(self) -> str:
        """The "other host" that `download="redirect"` files point at."""
        return self._ws.foreign_host

    @property
    def team_id(self) -> str:
        return self._ws.team_id

    @property
    def bot_user_id(self) -> str:
        return self._ws.bot_user_id

    @property
    def bot_id(self) -> str:
        return self._ws.bot_id

    @property
    def app_id(self) -> str:
        return self._ws.app_id

    def add_user(
        self, user_id: str, name: str, *, is_admin: bool = False, is_owner: bool = False
    ) -> None:
        self._ws.add_user(User(user_id, name, is_admin=is_admin, is_owner=is_owner))

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        bot_member: bool = True,
        members: set[str] | None = None,
    ) -> None:
        channel = Channel(
            channel_id,
            name,
            is_private=is_private,
            bot_member=bot_member,
            members=set(members or ()),
        )
        self._ws.add_channel(channel)

    # -- knobs -------------------------------------------------------------------------------

    @property
    def app_timeout(self) -> float:
        """Seconds Slack waits for the app's 2xx before it gives up (and retries an event)."""
        return self._deliverer.policy.timeout

    @app_timeout.setter
    def app_timeout(self, seconds: float) -> None:
        self._deliverer.policy.timeout = seconds

    @property
    def trigger_ttl(self) -> float:
        return self._ws.trigger_ttl

    @trigger_ttl.setter
    def trigger_ttl(self, seconds: float) -> None:
        self._ws.trigger_ttl = seconds

    def issue_trigger(self, user: str) -> str:
        """A fresh trigger_id, as a click or command by `user` would produce."""
        return self._ws.issue_trigger(user)

    def disable_streaming(self, error: str = "not_allowed_token_type") -> None:
        """Make chat.*Stream methods refuse, as a workspace without native streaming does."""
        with self._ws.lock:
            self._ws.streaming_error = error

    def enable_streaming(self) -> None:
        with self._ws.lock:
            self._ws.streaming_error = None

    def rate_limit(self, method: str, per_minute: int, retry_after: int | None = None) -> None:
        """Answer HTTP 429 `ratelimited` with Retry-After once `method` exceeds `per_minute`."""
        with self._ws.lock:
            self._faults.rate_limit(method, per_minute, retry_after)

    def clear_rate_limit(self, method: str) -> None:
        with self._ws.lock:
            self._faults.clear_rate_limit(method)

    def clear_faults(self) -> None:
        """Back to a Slack in good health: no rate limits, no injection left to use up."""
        with self._ws.lock:
            self._faults.clear()

    def inject(
        self,
        method: str,
        error: str | None = None,
        count: int = 1,
        status: int = 200,
        delay: float = 0.0,
        late: float = 0.0,
    ) -> None:
        """Make the next `count` calls to `method` fail with `error` and/or wait `delay` seconds
        before they run, and/or answer `late` seconds after they took effect.

        `late` is the network between Slack and the app: a posted message is there for people to
        see (and click) before the app learns its ts.
        """
        with self._ws.lock:
            self._faults.inject(method, error, count, status, delay, late)

    @property
    def echo_app_events(self) -> bool:
        """When on, the app's own posts, edits and deletions come back to it as message events
        (including `message_changed`), as they do for an app subscribed to channel messages."""
        return self._echo_thread is not None

    @echo_app_events.setter
    def echo_app_events(self, enabled: bool) -> None:
        if enabled and self._echo_thread is None:
            self._echo_thread = threading.Thread(target=self._echo_loop, daemon=True)
            self._echo_thread.start()
            self._ws.app_event_sink = self._echo_queue.put
        elif not enabled and self._echo_thread is not None:
            self._ws.app_event_sink = None
            self._echo_queue.put(None)
            self._echo_thread.join(timeout=10)
            self._echo_thread = None

    def _echo_loop(self) -> None:
        while (event := self._echo_queue.get()) is not None:
            if self.app_url:
                self.deliver_event(event)

    # -- inspection (copies, safe to keep) ---------------------------------------------------

    def _copy(self, value: T) -> T:
        with self._ws.lock:
            return copy.deepcopy(value)

    def messages(
        self, channel: str, thread_ts: str | None = None, *, include_deleted: bool = False
    ) -> list[Message]:
        """Messages in a channel (all of them, replies included) or in one thread (parent first),
        oldest first, each with its `edits` history. A user id means the DM with that user."""
        with self._ws.lock:
            channel_id = self._ws.resolve_channel(channel).id
            found = [
                m
                for m in self._ws.messages.get(channel_id, [])
                if (include_deleted or not m.deleted)
                and (thread_ts is None or m.ts == thread_ts or m.thread_ts == thread_ts)
            ]
            return copy.deepcopy(found)

    def message(self, channel: str, ts: str) -> Message | None:
        with self._ws.lock:
            found = self._ws.find_message(self._ws.resolve_channel(channel).id, ts)
            return copy.deepcopy(found)

    @property
    def ephemerals(self) -> list[Ephemeral]:
        return self._copy(self._ws.ephemerals)

    @property
    def views(self) -> list[View]:
        return self._copy(list(self._ws.views.values()))

    def view(self, view_id: str) -> View | None:
        return self._copy(self._ws.views.get(view_id))

    @property
    def uploaded_files(self) -> list[StoredFile]:
        """Files the app uploaded (and completed) through the files_upload_v2 flow."""
        return self._copy([f for f in self._ws.files.values() if f.uploaded_by_app and f.complete])

    def file(self, file_id: str) -> JsonDict:
        with self._ws.lock:
            return self._ws.render_file(self._ws.files[file_id])

    @property
    def calls(self) -> list[ApiCall]:
        return self._copy(self._ws.calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._ws.lock:
            return copy.deepcopy([c for c in self._ws.calls if c.method == method])

    @property
    def deliveries(self) -> list[Delivery]:
        return self._copy(self._ws.deliveries)

    @property
    def response_posts(self) -> list[ResponsePost]:
        return self._copy(self._ws.response_posts)

    @property
    def downloads(self) -> list[JsonDict]:
        """Every request to the file host's /files-pri/ paths, with whether it was authorized."""
        return self._copy(self._ws.downloads)

    @property
    def foreign_requests(self) -> list[JsonDict]:
        """Requests that reached the foreign host (a followed redirect), with their headers."""
        return self._copy(self._ws.foreign_requests)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Block until `predicate()` is truthy and return its value; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            # Evaluated without the lock: a predicate may itself call the emulator over HTTP.
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            with self._ws.changed:
                self._ws.changed.wait(min(remaining, 0.05))
