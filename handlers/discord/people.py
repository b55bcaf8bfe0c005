"""Who is asking and where, in the core's terms, read from a discord.py interaction or message.

The rule itself (who may start, who is an admin) is the core's `TeamPolicy`; this module only
turns Discord's view of a member (role ids, guild owner, the Administrator permission) into a
`Person`, and a place into the channel the team's allow-list names (a thread counts as its
parent channel).
"""

from __future__ import annotations

from typing import Any

import discord

from finetuning.platforms import discord_workspace
from finetuning.team import Person


def person_of(interaction: discord.Interaction) -> Person:
    """Outside a guild (a click in a DM) nobody has roles or a guild's standing: only the
    TUNEBOT_ADMINS ids the policy lists can be admins there."""
    user = interaction.user
    if interaction.guild_id is None:
        return Person(str(user.id))
    roles = frozenset(
        str(role.id)
        for role in getattr(user, "roles", ())
        if not role.is_default()  # @everyone is every member's
    )
    guild = interaction.guild
    owner = guild is not None and guild.owner_id == user.id
    return Person(str(user.id), roles, owner or interaction.permissions.administrator)


def person_payload(person: Person) -> dict[str, Any]:
    """A person as plain JSON, for a task payload: tasks check the policy again."""
    return {
        "user": person.user_id,
        "roles": sorted(person.role_ids),
        "admin": person.platform_admin,
    }


def person_from(payload: dict[str, Any]) -> Person:
    return Person(
        str(payload["user"]),
        frozenset(str(r) for r in payload.get("roles") or ()),
        bool(payload.get("admin")),
    )


def workspace_of(interaction: discord.Interaction) -> str:
    if interaction.guild_id is None:
        raise ValueError("tunebot's commands work in guilds only")
    return discord_workspace(interaction.guild_id)


def place_of(channel: object) -> tuple[str | None, str | None]:
    """(channel, thread) ids of where something happened: a thread is reported with its
    parent, as Slack's thread_ts is with its channel."""
    if isinstance(channel, discord.Thread):
        return (str(channel.parent_id) if channel.parent_id else None), str(channel.id)
    channel_id = getattr(channel, "id", None)
    return (str(channel_id) if channel_id is not None else None), None
