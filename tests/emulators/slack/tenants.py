"""Every workspace one emulator server hosts, and the app's OAuth installs into them.

On Slack all workspaces share one API URL: the token a call carries says which workspace it is
about, so a token of workspace A can never read or write B. Installing works as on Slack: the
authorize page (a person signed into a workspace clicks "Allow") redirects to the app with a
one-time `code`, which `oauth.v2.access` exchanges, with the app's client id and secret, for
that workspace's bot token. Uninstalling revokes the token: calls with it then answer
`token_revoked`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from tests.emulators.slack.errors import ApiError
from tests.emulators.slack.records import JsonDict
from tests.emulators.slack.workspace import ADMIN, Workspace

ACCESS = "oauth.v2.access"
CODE_SECONDS = 600.0
"""Slack's codes expire ten minutes after they are issued."""


@dataclass
class Grant:
    """A code handed to the app's redirect URI, waiting to be exchanged once."""

    code: str
    team_id: str
    user: str
    scope: str
    redirect_uri: str | None
    """The redirect_uri the authorize request named; the exchange must name the same one."""
    issued_at: float
    used: bool = False


@dataclass
class Page:
    """An answer of the authorize page: a redirect, or an error page."""

    status: int
    location: str | None = None
    error: str | None = None


def bot_token() -> str:
    """A new bot token, shaped like Slack's (which is what log redaction recognizes)."""
    return f"xoxb-{secrets.randbelow(10**10):010d}-{secrets.randbelow(10**13):013d}-" + (
        secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
    )


class Tenants:
    """The workspaces of one server, by team id and by token. Callers hold `lock`."""

    def __init__(self, primary: Workspace, *, client_id: str, client_secret: str) -> None:
        self.primary = primary
        self.lock = primary.lock
        self.workspaces: dict[str, Workspace] = {primary.team_id: primary}
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_urls: list[str] = []
        """The app's configured redirect URLs: used when authorize names none, and the only
        ones it may name when set."""
        self.revoked: dict[str, str] = {}
        self.grants: dict[str, Grant] = {}

    def add(self, workspace: Workspace) -> None:
        if workspace.team_id in self.workspaces:
            raise ValueError(f"workspace {workspace.team_id} exists already")
        workspace.file_host = self.primary.file_host
        workspace.foreign_host = self.primary.foreign_host
        self.workspaces[workspace.team_id] = workspace

    def team(self, team_id: str) -> Workspace | None:
        return self.workspaces.get(team_id)

    def resolve(self, token: str | None) -> tuple[Workspace | None, ApiError | None]:
        """The workspace a Web API token opens, or Slack's refusal of the token."""
        if not token:
            return None, ApiError("not_authed")
        for workspace in self.workspaces.values():
            if workspace.installed and secrets.compare_digest(workspace.bot_token, token):
                return workspace, None
        if token in self.revoked:
            return self.workspaces.get(self.revoked[token]), ApiError("token_revoked")
        return None, ApiError("invalid_auth")

    def file_owner(self, *, ticket: str | None = None, target: str | None = None) -> Workspace:
        """The workspace an upload ticket or a response_url belongs to (the primary if none)."""
        for workspace in self.workspaces.values():
            if ticket is not None and ticket in workspace.upload_tickets:
                return workspace
            if target is not None and target in workspace.response_targets:
                return workspace
        return self.primary

    # -- installing --------------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> Page:
        """`GET /oauth/v2/authorize`: the person signed into `team` (Slack's own parameter;
        the first workspace by default) clicks "Allow"; `deny=1` clicks "Cancel"."""
        if query.get("client_id") != self.client_id:
            return Page(400, error="invalid_client_id")
        workspace = self.team(query.get("team") or self.primary.team_id)
        if workspace is None:
            return Page(400, error="team_not_found")
        named = query.get("redirect_uri")
        redirect = named or (self.redirect_urls[0] if self.redirect_urls else None)
        if redirect is None or (self.redirect_urls and redirect not in self.redirect_urls):
            return Page(400, error="bad_redirect_uri")
        answer: dict[str, str]
        if query.get("deny"):
            answer = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = f"{secrets.randbelow(10**12)}.{secrets.token_hex(20)}"
            self.grants[code] = Grant(
                code=code,
                team_id=workspace.team_id,
                user=query.get("user") or ADMIN,
                scope=query.get("scope", ""),
                redirect_uri=named,
                issued_at=time.time(),
            )
            answer = {"code": code, "state": query.get("state", "")}
        separator = "&" if "?" in redirect else "?"
        return Page(302, location=f"{redirect}{separator}{urlencode(answer)}")

    def grant_of(self, code: object) -> Grant | None:
        return self.grants.get(str(code)) if code else None

    def access(self, params: JsonDict, client_auth: tuple[str, str] | None) -> JsonDict:
        """`oauth.v2.access`: a code (once, within ten minutes) and the app's credentials, from
        HTTP Basic auth or the form, for the workspace's bot token."""
        client_id, client_secret = client_auth or (
            str(params.get("client_id") or ""),
            str(params.get("client_secret") or ""),
        )
        if client_id != self.client_id:
            raise ApiError("invalid_client_id")
        if not secrets.compare_digest(client_secret, self.client_secret):
            raise ApiError("bad_client_secret")
        grant = self.grant_of(params.get("code"))
        if grant is None or grant.used or time.time() - grant.issued_at > CODE_SECONDS:
            raise ApiError("invalid_code")
        grant.used = True
        if grant.redirect_uri is not None and params.get("redirect_uri") != grant.redirect_uri:
            raise ApiError("bad_redirect_uri")
        workspace = self.workspaces[grant.team_id]
        self.install(workspace)
        return {
            "ok": True,
            "app_id": workspace.app_id,
            "authed_user": {"id": grant.user},
            "scope": grant.scope,
            "token_type": "bot",
            "access_token": workspace.bot_token,
            "bot_user_id": workspace.bot_user_id,
            "team": {"id": workspace.team_id, "name": workspace.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def install(self, workspace: Workspace) -> None:
        """The app is in the workspace; a token revoked by an earlier uninstall is not reused."""
        if not workspace.installed:
            if not workspace.bot_token or workspace.bot_token in self.revoked:
                workspace.bot_token = bot_token()
            workspace.installed = True
        workspace.notify()

    def uninstall(self, workspace: Workspace) -> None:
        """The app is removed: its bot token answers `token_revoked` from now on."""
        if workspace.installed:
            self.revoked[workspace.bot_token] = workspace.team_id
            workspace.installed = False
        workspace.notify()
