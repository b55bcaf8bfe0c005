"""Settings read from the environment or `.env`, in one place.

Every knob the process has is declared here with its default and where to get it, so that
`.env.example`, the start-up check and the code cannot drift apart.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.slack.manifest import BOT_SCOPES


class Settings(BaseSettings):
    """tunebot's configuration; names match the environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    database_url: str = Field(
        default="sqlite:///tunebot.db",
        description="SQLAlchemy URL of the database (SQLite by default, PostgreSQL for replicas).",
    )
    tunebot_default_model: str = Field(
        default="gpt-4o-mini-2024-07-18",
        description="Base model used for estimates and jobs when none is named.",
    )
    tunebot_prices: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "JSON object overriding training prices in USD per 1M tokens, "
            'e.g. {"gpt-4o-mini": 3.0}.'
        ),
    )
    tunebot_data_dir: Path = Field(
        default=Path("data"), description="Where normalized datasets and fixed files are kept."
    )
    tunebot_max_upload_mb: int = Field(default=512, ge=1, description="Largest dataset accepted.")
    tunebot_task_workers: int = Field(
        default=4, ge=1, description="Threads running checks, starts and other queued work."
    )
    tunebot_poll_seconds: int = Field(default=30, ge=1, description="How often jobs are followed.")
    tunebot_chat_workers: int = Field(
        default=32, ge=1, description="Threads streaming model replies; one per reply in progress."
    )
    tunebot_stream_update_seconds: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="Least time between two edits of a reply being streamed into Slack or Discord.",
    )
    tunebot_workers: int = Field(
        default=0, ge=0, description="Processes that tokenize large files; 0 means one per core."
    )
    tunebot_user_commands_per_minute: int = Field(
        default=20,
        ge=1,
        description="Slash commands and button clicks one person may send a minute, per process.",
    )

    tunebot_admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Slack user ids who administer tunebot (besides workspace admins/owners).",
    )
    tunebot_allowed_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Who may start, cancel and delete (user ids); empty = everyone.",
    )
    tunebot_allowed_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Where jobs may be started, cancelled and deleted; empty = everywhere.",
    )
    tunebot_monthly_budget_usd: float | None = Field(
        default=None, ge=0, description="Most a workspace may spend a calendar month (UTC)."
    )
    tunebot_user_monthly_budget_usd: float | None = Field(
        default=None, ge=0, description="Most one person may spend a calendar month (UTC)."
    )
    tunebot_approval_usd: float | None = Field(
        default=None, ge=0, description="Jobs estimated above this wait for an admin's approval."
    )
    tunebot_secret_key: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Fernet key(s) sealing each workspace's OpenAI key at rest; comma-separated, the "
            "first seals and all open (rotation). `tunebot secrets new-key` makes one. Unset: "
            "workspaces cannot set keys of their own."
        ),
    )
    tunebot_admin_channel: str | None = Field(
        default=None, description="Channel id where approval requests go (else admins' DMs)."
    )

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_client_id: str | None = Field(
        default=None,
        description=(
            "OAuth client id; with SLACK_CLIENT_SECRET the app installs into any number of "
            "workspaces at /slack/install instead of using SLACK_BOT_TOKEN."
        ),
    )
    slack_client_secret: str | None = Field(default=None, description="OAuth client secret.")
    slack_scopes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(BOT_SCOPES),
        description="Bot scopes an OAuth install asks for (those of the manifest by default).",
    )
    slack_authorize_url: str = Field(
        default="https://slack.com/oauth/v2/authorize",
        description="Where /slack/install sends people to approve the app (Slack's page).",
    )
    tunebot_public_url: str | None = Field(
        default=None,
        description=(
            "This server's public base URL; the OAuth redirect URI is it + /slack/oauth_redirect "
            "(unset: the one in the app's settings at Slack)."
        ),
    )
    slack_file_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["files.slack.com"]
    )
    discord_bot_token: str | None = Field(
        default=None,
        description=(
            "Discord bot token: discord.com/developers/applications → your application → Bot → "
            "Reset Token. Needed for `tunebot serve --discord`."
        ),
    )
    discord_api_url: str = Field(
        default="",
        description="Discord API base URL (e.g. https://proxy.example.com/api); empty = Discord.",
    )
    discord_file_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["cdn.discordapp.com", "media.discordapp.net"],
        description="Hosts Discord attachments may be downloaded from.",
    )
    discord_guild_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Guild ids to register /finetune in at once; empty = globally (Discord may take "
            "up to an hour to show global commands everywhere)."
        ),
    )
    discord_admin_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Role ids whose members administer tunebot in a guild (besides the owner, members "
            "with the Administrator permission and the TUNEBOT_ADMINS user ids)."
        ),
    )
    discord_allowed_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Role ids whose members may start, cancel and delete, besides TUNEBOT_ALLOWED_USERS; "
            "with both empty, everyone may."
        ),
    )
    discord_admin_channel: str | None = Field(
        default=None,
        description=(
            "Discord channel id where approval requests go (else each TUNEBOT_ADMINS person's "
            "DMs, else the requester's thread)."
        ),
    )
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_org_id: str | None = None
    openai_project_id: str | None = None
    openai_webhook_secret: str | None = None
    port: int = 3000
    host: str = "0.0.0.0"

    @property
    def slack_oauth(self) -> bool:
        """Installed through OAuth (one bot token per workspace) rather than one bot token."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @field_validator("slack_file_hosts", "discord_file_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        """Accept the comma-separated form an environment variable can hold."""
        if isinstance(value, str):
            return [host.strip().lower() for host in value.split(",") if host.strip()]
        return value

    @field_validator(
        "tunebot_admins",
        "tunebot_allowed_users",
        "tunebot_allowed_channels",
        "tunebot_secret_key",
        "slack_scopes",
        "discord_guild_ids",
        "discord_admin_roles",
        "discord_allowed_roles",
        mode="before",
    )
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Comma-separated lists (spaces allowed): Slack ids are upper case and Fernet keys are
        case-sensitive, so case is kept."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once: the environment does not change under us."""
    return Settings()
