"""Which WebClient speaks for a workspace: the one place that turns a team id into a token.

With one `SLACK_BOT_TOKEN` every workspace is that token's workspace. Installed through OAuth,
each workspace has the bot token its installation stored, and every call about that workspace's
work (a task, a notice, a Home tab) must carry that token and no other: Slack tells workspaces
apart by the token alone. The store is asked on every lookup, not remembered, so an uninstall
recorded by any replica takes effect at once everywhere; the clients themselves (an HTTP
connection pool and retry handlers each) are built once per token.
"""

from __future__ import annotations

import threading

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store import InstallationStore

from finetuning.tasks import AbandonTaskError


class WorkspaceNotInstalledError(AbandonTaskError):
    """The app is not (any more) installed in the workspace: nothing can be said there, so work
    for it ends instead of being retried."""

    def __init__(self, team_id: str | None, why: str = "no installation is stored for it") -> None:
        super().__init__(f"tunebot is not installed in workspace {team_id or '(unknown)'}: {why}")
        self.team_id = team_id


def make_web_client(token: str | None, base_url: str) -> WebClient:
    """A WebClient that waits out Slack's rate limits (honouring Retry-After) a few times."""
    client = WebClient(token=token, base_url=base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


class SlackClients:
    """`for_team(team_id)`: the client with that workspace's bot token. Thread-safe."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        installations: InstallationStore | None = None,
    ) -> None:
        if (token is None) == (installations is None):
            raise ValueError("give either one bot token or an installation store")
        self._base_url = base_url
        self._token = token
        self._installations = installations
        self._lock = threading.Lock()
        self._by_token: dict[str, WebClient] = {}
        self._token_of: dict[str, str] = {}
        self.base = make_web_client(token, base_url)
        """The client Bolt's App is built on: the one token, or (OAuth) none, in which case Bolt
        gives each request a copy with the token of the workspace it came from."""
        if token is not None:
            self._by_token[token] = self.base

    @property
    def installations(self) -> InstallationStore | None:
        """The OAuth installation store; None with a single bot token."""
        return self._installations

    def for_team(self, team_id: str) -> WebClient:
        """The client for the workspace's bot; WorkspaceNotInstalledError when it has none."""
        token = self._token if self._token is not None else self._installed_token(team_id)
        with self._lock:
            if self._installations is not None:
                earlier = self._token_of.get(team_id)
                if earlier is not None and earlier != token:  # reinstalled with a new token
                    self._by_token.pop(earlier, None)
                self._token_of[team_id] = token
            client = self._by_token.get(token)
            if client is None:
                client = self._by_token[token] = make_web_client(token, self._base_url)
            return client

    def token_for(self, team_id: str) -> str:
        """The workspace's bot token itself, for what is not a Web API call (file downloads)."""
        return str(self.for_team(team_id).token)

    def forget(self, team_id: str | None) -> None:
        """The workspace uninstalled the app or revoked its token: drop the client built for it
        (the installation store is what forgets the token)."""
        with self._lock:
            token = self._token_of.pop(team_id or "", None)
            if token is not None:
                self._by_token.pop(token, None)

    @property
    def cached(self) -> int:
        """How many clients are kept (one per token in use)."""
        with self._lock:
            return len(self._by_token)

    def _installed_token(self, team_id: str) -> str:
        assert self._installations is not None
        if not team_id:
            raise WorkspaceNotInstalledError(team_id, "the work names no workspace")
        bot = self._installations.find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            raise WorkspaceNotInstalledError(team_id)
        return bot.bot_token
