"""Which chat platform a workspace lives on, read from its id.

Every row that belongs to a workspace (datasets, jobs, bindings, budgets, audit entries) carries
its `workspace_id`. Slack's team ids (`T…`, `E…`) are stored as they are; a Discord guild is
stored as `discord:<guild id>`, so the two can never collide and the follower can hand a job's
notices to the front end it came from without a column of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import ColumnElement, not_
from sqlalchemy.orm import InstrumentedAttribute

DISCORD_PREFIX = "discord:"


class Platform(StrEnum):
    SLACK = "slack"
    DISCORD = "discord"


def platform_of(workspace_id: str) -> Platform:
    return Platform.DISCORD if workspace_id.startswith(DISCORD_PREFIX) else Platform.SLACK


def discord_workspace(guild_id: int | str) -> str:
    """The workspace id of a Discord guild."""
    return f"{DISCORD_PREFIX}{guild_id}"


def guild_of(workspace_id: str) -> int:
    """The guild id in a Discord workspace id; ValueError for any other."""
    if not workspace_id.startswith(DISCORD_PREFIX):
        raise ValueError(f"{workspace_id!r} is not a Discord workspace")
    return int(workspace_id.removeprefix(DISCORD_PREFIX))


def people_on(platform: Platform, user_ids: Iterable[str]) -> list[str]:
    """The ids among `user_ids` (in their order) that name people on `platform`: one process
    serving both shares its settings' lists (TUNEBOT_ADMINS), and Discord's user ids are all
    digits (snowflakes) while Slack's are not (`U…`, `W…`); asking a platform about the other's
    ids only fails."""
    wanted = platform is Platform.DISCORD
    return list(dict.fromkeys(u for u in user_ids if (u.isascii() and u.isdigit()) is wanted))


def on_platform(column: InstrumentedAttribute[str], platform: Platform) -> ColumnElement[bool]:
    """A WHERE clause keeping the rows of one platform's workspaces."""
    discord = column.startswith(DISCORD_PREFIX, autoescape=True)
    return discord if platform is Platform.DISCORD else not_(discord)
