"""Refuse to start without the settings the bot cannot work without, naming all of them at once.

Finding one missing setting per restart is how a set-up afternoon is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from finetuning.platforms import Platform


@dataclass(frozen=True)
class MissingSetting:
    name: str
    where: str


def missing_settings(
    settings: Settings, platforms: frozenset[Platform] = frozenset({Platform.SLACK})
) -> list[MissingSetting]:
    """Every required setting that is empty for the chosen platforms, with where to get it."""
    missing: list[MissingSetting] = []
    if Platform.SLACK in platforms:
        missing.extend(_missing_for_slack(settings))
    if Platform.DISCORD in platforms and not settings.discord_bot_token:
        missing.append(
            MissingSetting(
                "DISCORD_BOT_TOKEN",
                "discord.com/developers/applications → your application → Bot → Reset Token "
                "(switch on the Message Content intent on the same page)",
            )
        )
    if not settings.openai_api_key and not settings.tunebot_secret_key:
        missing.append(
            MissingSetting(
                "OPENAI_API_KEY",
                "platform.openai.com/api-keys → Create new secret key (or set TUNEBOT_SECRET_KEY "
                "so that each workspace's admins set a key of their own with /finetune key)",
            )
        )
    return missing


def _missing_for_slack(settings: Settings) -> list[MissingSetting]:
    missing: list[MissingSetting] = []
    credentials = "api.slack.com/apps → your app → Basic Information → App Credentials → "
    if settings.slack_client_id and not settings.slack_client_secret:
        missing.append(MissingSetting("SLACK_CLIENT_SECRET", credentials + "Client Secret"))
    elif settings.slack_client_secret and not settings.slack_client_id:
        missing.append(MissingSetting("SLACK_CLIENT_ID", credentials + "Client ID"))
    elif not settings.slack_oauth and not settings.slack_bot_token:
        missing.append(
            MissingSetting(
                "SLACK_BOT_TOKEN",
                "api.slack.com/apps → your app → OAuth & Permissions → Bot User OAuth Token "
                "(xoxb-…); install the app to the workspace first (or set SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET to install it into workspaces through OAuth)",
            )
        )
    if not settings.slack_app_token and not settings.slack_signing_secret:
        missing.append(
            MissingSetting(
                "SLACK_SIGNING_SECRET",
                "api.slack.com/apps → your app → Basic Information → App Credentials → Signing "
                "Secret (or set SLACK_APP_TOKEN to use Socket Mode instead)",
            )
        )
    return missing
