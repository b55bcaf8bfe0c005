"""The Slack app manifest: everything the app needs, pasted once at api.slack.com/apps.

Kept as data here so `tunebot manifest` can fill in the public URL or switch to Socket Mode;
`manifest.yml` at the repository root is its default rendering (a test keeps them equal).
"""

from __future__ import annotations

from typing import Any

import yaml

BOT_SCOPES = [
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:read",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "mpim:history",
    "reactions:write",
    "users:read",
]
BOT_EVENTS = [
    "app_home_opened",
    "app_mention",
    "message.channels",
    "message.groups",
    "message.im",
    "message.mpim",
    # Installed through OAuth, the app forgets a workspace's token when it is removed.
    "app_uninstalled",
    "tokens_revoked",
]
PLACEHOLDER_URL = "https://tunebot.example.com"
OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"
"""Where Slack sends people back after they approve an install (Bolt's default path)."""


def manifest(
    *, url: str = PLACEHOLDER_URL, socket_mode: bool = False, name: str = "tunebot"
) -> dict[str, Any]:
    """The manifest as a dict; with Socket Mode no request URLs are needed. In HTTP mode the
    OAuth redirect URL is listed too, for installing into several workspaces."""
    events_url = f"{url.rstrip('/')}/slack/events"
    command: dict[str, Any] = {
        "command": "/finetune",
        "description": (
            "Fine-tune OpenAI models and talk to them: start, status, use, ask, compare, help"
        ),
        "usage_hint": (
            "start [ds-N] [model=M] | status | use MODEL | ask [MODEL] Q | compare A B Q | help"
        ),
        "should_escape": False,
    }
    event_subscriptions: dict[str, Any] = {"bot_events": BOT_EVENTS}
    interactivity: dict[str, Any] = {"is_enabled": True}
    oauth_config: dict[str, Any] = {"scopes": {"bot": BOT_SCOPES}}
    if not socket_mode:
        oauth_config = {
            "redirect_urls": [f"{url.rstrip('/')}{OAUTH_REDIRECT_PATH}"],
            **oauth_config,
        }
        command["url"] = events_url
        event_subscriptions["request_url"] = events_url
        interactivity["request_url"] = events_url
    return {
        "display_information": {
            "name": name,
            "description": "Check training files and fine-tune OpenAI models from Slack.",
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": oauth_config,
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(**options: Any) -> str:
    """The manifest in the YAML form Slack's "Create from manifest" accepts."""
    header = (
        "# Slack app manifest for tunebot: api.slack.com/apps → Create New App → From manifest\n"
    )
    return header + yaml.safe_dump(manifest(**options), sort_keys=False, width=100)
