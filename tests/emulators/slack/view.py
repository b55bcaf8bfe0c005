"""One emulated workspace as a test sees it: the people acting in it, its knobs, and copies of
what it holds. `SlackEmulator` is the first workspace of its server; `add_workspace` gives more.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import TypeVar

from tests.emulators.slack.actor import WorkspaceActor
from tests.emulators.slack.delivery import AppDeliverer
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
from tests.emulators.slack.tenants import Tenants
from tests.emulators.slack.workspace import Workspace

T = TypeVar("T")


class SlackWorkspace(WorkspaceActor):
    """A workspace of the emulator: act in it, turn its knobs, read what it holds."""

    def __init__(self, workspace: Workspace, deliverer: AppDeliverer, tenants: Tenants) -> None:
        super().__init__(workspace, deliverer)
        self._tenants = tenants

    # -- identity and installation -----------------------------------------------------------

    @property
    def bot_token(self) -> str:
        """The workspace's bot token (a new one after each reinstall that follows an uninstall)."""
        with self._ws.lock:
            return self._ws.bot_token

    @property
    def installed(self) -> bool:
        with self._ws.lock:
            return self._ws.installed

    def uninstall(self) -> list[Delivery]:
        """Someone removes the app: its token is revoked at once, then Slack tells the app with
        `tokens_revoked` and `app_uninstalled` events; returns those deliveries."""
        ws = self._ws
        with ws.lock:
            self._tenants.uninstall(ws)
            now = f"{time.time():.6f}"
            revoked: JsonDict = {
                "type": "tokens_revoked",
                "tokens": {"oauth": [], "bot": [ws.bot_user_id]},
                "event_ts": now,
            }
            removed: JsonDict = {"type": "app_uninstalled", "event_ts": now}
        return self.deliver_event(revoked) + self.deliver_event(removed)

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
            self._ws.faults.rate_limit(method, per_minute, retry_after)

    def clear_rate_limit(self, method: str) -> None:
        with self._ws.lock:
            self._ws.faults.clear_rate_limit(method)

    def clear_faults(self) -> None:
        """Back to a Slack in good health: no rate limits, no injection left to use up."""
        with self._ws.lock:
            self._ws.faults.clear()

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
            self._ws.faults.inject(method, error, count, status, delay, late)

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
