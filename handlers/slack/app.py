"""The Bolt app: listeners registered on one App, sharing one set of services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.oauth.oauth_settings import OAuthSettings

from handlers.slack.deps import SlackDeps
from handlers.slack.home import HomePublisher
from handlers.slack.listeners import (
    approvals,
    commands,
    conversations,
    files,
    home,
    interactions,
    uninstalled,
    workspace_key,
)

_IGNORED_SUBTYPES = frozenset({"message_changed", "message_deleted", "bot_message"})


def drop_edits(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
    """Answer edits and bot chatter before authorization: our own `chat.update` calls come back
    as `message_changed` events, and processing that flood would cost an auth call each."""
    event = body.get("event") or {}
    if event.get("type") == "message" and event.get("subtype") in _IGNORED_SUBTYPES:
        return BoltResponse(status=200, body="")
    return next()


def build_app(
    deps: SlackDeps,
    signing_secret: str,
    home_publisher: HomePublisher,
    *,
    verify_token: bool = True,
    oauth: OAuthSettings | None = None,
) -> App:
    """The app with every listener; `verify_token` calls auth.test once at start (one token).

    With `oauth` the app installs through Slack's OAuth flow into any number of workspaces, and
    Bolt authorizes each request with the bot token stored for the workspace it came from.
    """
    app = App(
        client=deps.clients.base,
        signing_secret=signing_secret,
        token_verification_enabled=verify_token and oauth is None,
        oauth_settings=oauth,
        installation_store=deps.clients.installations,
        # Only bot tokens are ever used: look those up, not whole installations.
        installation_store_bot_only=True if oauth is not None else None,
        before_authorize=drop_edits,
        # Answer Slack only once the listener has run: listeners just write a durable task, so
        # the answer still comes in milliseconds, and an acknowledged event is never lost.
        process_before_response=True,
    )
    # Bolt runs the first listener that matches: file shares before any other message.
    files.register(app, deps)
    conversations.register(app, deps)
    commands.register(app, deps)
    interactions.register(app, deps)
    approvals.register(app, deps)
    workspace_key.register(app, deps)
    home.register(app, home_publisher)
    uninstalled.register(app, deps.clients)
    return app
