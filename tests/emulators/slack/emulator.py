"""`SlackEmulator`: a stateful Slack on 127.0.0.1 for end-to-end tests, one or more workspaces.

    with SlackEmulator(bot_token="xoxb-test", signing_secret="s3cret", team_id="T001") as slack:
        app = App(client=WebClient(token="xoxb-test", base_url=slack.api_url), ...)
        slack.app_url = "http://127.0.0.1:3000/slack/events"
        ts = slack.mention(ALICE, GENERAL, "help")
        slack.wait_for(lambda: slack.messages(GENERAL, thread_ts=ts)[1:])

The app talks to it through the real Web API over HTTP; the test acts as the people in the
workspace (see `WorkspaceActor`) and asserts on copies of what the workspace now holds.

The emulator is itself the first workspace (installed, its token valid from the start). More
share its server, as all workspaces share Slack's API URL: `add_workspace("T002")` gives one
whose app is not installed until it goes through OAuth (`authorize_url`, then the app's
`oauth.v2.access` with `client_id` / `client_secret`); each call is routed by its token.
"""

from __future__ import annotations

import itertools
import queue
import threading
from types import TracebackType

from tests.emulators.slack.delivery import AppDeliverer
from tests.emulators.slack.http_server import EmulatorServer
from tests.emulators.slack.records import JsonDict
from tests.emulators.slack.tenants import Tenants
from tests.emulators.slack.view import SlackWorkspace
from tests.emulators.slack.workspace import Workspace

CLIENT_ID = "1111111111.2222222222222"
CLIENT_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


class SlackEmulator(SlackWorkspace):
    """Slack: Web API, file host, OAuth, and the signed requests Slack sends to apps."""

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
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
    ) -> None:
        self._ids = itertools.count(1)
        workspace = Workspace(bot_token=bot_token, team_id=team_id, ids=self._ids)
        deliverer = AppDeliverer(workspace, signing_secret)
        deliverer.policy.timeout = app_timeout
        deliverer.policy.max_retries = max_retries
        deliverer.policy.retry_delays = retry_delays
        tenants = Tenants(workspace, client_id=client_id, client_secret=client_secret)
        super().__init__(workspace, deliverer, tenants)
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.client_id = client_id
        self.client_secret = client_secret
        self._workspaces: dict[str, SlackWorkspace] = {team_id: self}
        self._server: EmulatorServer | None = None
        self._foreign: EmulatorServer | None = None
        self._echo_queue: queue.Queue[JsonDict | None] = queue.Queue()
        self._echo_thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        self._server = EmulatorServer(self._tenants)
        self._foreign = EmulatorServer(self._tenants, foreign=True)
        with self._ws.lock:
            for workspace in self._tenants.workspaces.values():
                workspace.file_host = self._server.host
                workspace.foreign_host = self._foreign.host
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

    # -- addresses ---------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Base URL for `WebClient(base_url=...)`; ends with `/api/` like Slack's."""
        return f"http://{self.file_host}/api/"

    @property
    def authorize_url(self) -> str:
        """The page a person approves an install on (Slack's `oauth/v2/authorize`)."""
        return f"http://{self.file_host}/oauth/v2/authorize"

    @property
    def file_host(self) -> str:
        if not self._ws.file_host:
            raise RuntimeError("the emulator is not started")
        return self._ws.file_host

    @property
    def foreign_host(self) -> str:
        """The "other host" that `download="redirect"` files point at."""
        return self._ws.foreign_host

    # -- more workspaces ---------------------------------------------------------------------

    def add_workspace(
        self,
        team_id: str,
        *,
        installed: bool = False,
        bot_token: str = "",
        team_domain: str | None = None,
    ) -> SlackWorkspace:
        """Another workspace on the same server, seeded with the same people and channels (ids
        are per workspace on Slack's side too: only a token tells them apart). Not installed, it
        gets its bot token through OAuth; `installed=True` needs `bot_token`."""
        if installed and not bot_token:
            raise ValueError("an installed workspace needs its bot_token")
        with self._ws.lock:
            workspace = Workspace(
                bot_token=bot_token,
                team_id=team_id,
                team_domain=team_domain or f"tunebot-{team_id.lower()}",
                bot_user_id=f"U0BOT{team_id}",
                bot_id=f"B0BOT{team_id}",
                installed=installed,
                ids=self._ids,
                lock=self._ws.lock,
            )
            self._tenants.add(workspace)
            view = SlackWorkspace(
                workspace, self._deliverer.for_workspace(workspace), self._tenants
            )
            self._workspaces[team_id] = view
            return view

    def workspace(self, team_id: str) -> SlackWorkspace:
        return self._workspaces[team_id]

    @property
    def redirect_urls(self) -> list[str]:
        """The app's configured OAuth redirect URLs (used when authorize names none)."""
        with self._ws.lock:
            return list(self._tenants.redirect_urls)

    @redirect_urls.setter
    def redirect_urls(self, urls: list[str]) -> None:
        with self._ws.lock:
            self._tenants.redirect_urls = list(urls)

    # -- echoing the app's own activity ------------------------------------------------------

    @property
    def echo_app_events(self) -> bool:
        """When on, the app's own posts, edits and deletions come back to it as message events
        (including `message_changed`), as they do for an app subscribed to channel messages.
        First workspace only."""
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
