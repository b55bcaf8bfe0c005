"""The JSON shapes Discord answers and dispatches, built from the world's records.

Field names and types follow Discord's API reference (ids as strings, ISO timestamps); the
shapes are the ones discord.py's parsers read, which the emulator's tests prove by parsing them
with the real client.
"""

from __future__ import annotations

from tests.emulators.discord.records import (
    CHAT_INPUT_COMMAND,
    Attachment,
    Channel,
    JsonDict,
    Message,
)
from tests.emulators.discord.snowflakes import iso_timestamp
from tests.emulators.discord.world import World


def render_user(world: World, user_id: int) -> JsonDict:
    return world.users[user_id].render()


def render_member(world: World, user_id: int, *, with_user: bool = True) -> JsonDict:
    member = world.members[user_id]
    body: JsonDict = {
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in member.role_ids],
        "joined_at": member.joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_user:
        body["user"] = render_user(world, user_id)
    return body


def render_channel(world: World, channel: Channel) -> JsonDict:
    if channel.is_dm:
        assert channel.recipient_id is not None
        return {
            "id": str(channel.id),
            "type": channel.type,
            "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
            "flags": 0,
            "recipients": [render_user(world, channel.recipient_id)],
        }
    body: JsonDict = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [],
        "nsfw": False,
        "rate_limit_per_user": 0,
        "parent_id": str(channel.parent_id) if channel.parent_id else None,
        "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
        "flags": 0,
    }
    if channel.is_thread:
        body.update(
            {
                "owner_id": str(channel.owner_id),
                "message_count": channel.message_count,
                "total_message_sent": channel.message_count,
                "member_count": len(channel.thread_members),
                "thread_metadata": {
                    "archived": channel.archived,
                    "auto_archive_duration": channel.auto_archive_duration,
                    "archive_timestamp": iso_timestamp(channel.created),
                    "locked": False,
                    "create_timestamp": iso_timestamp(channel.created),
                },
                "applied_tags": [],
            }
        )
        if world.bot_user_id in channel.thread_members:
            body["member"] = {
                "id": str(channel.id),
                "user_id": str(world.bot_user_id),
                "join_timestamp": iso_timestamp(channel.created),
                "flags": 0,
            }
    else:
        body["topic"] = channel.topic
    return body


def render_attachment(world: World, attachment: Attachment) -> JsonDict:
    url = world.cdn_url(attachment)
    return {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "description": attachment.description,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": url,
        "proxy_url": url,
        "flags": 0,
    }


def render_message(
    world: World, message: Message, *, gateway: bool = False, nonce: bool = False
) -> JsonDict:
    """A message as REST answers it; `gateway=True` adds `guild_id` and the author's `member`,
    which Discord includes in MESSAGE_CREATE/UPDATE for guild messages. `nonce=True` adds the
    nonce it was sent with, which only the create's answer and MESSAGE_CREATE carry."""
    author = world.users[message.author_id]
    body: JsonDict = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "type": message.type,
        "author": author.render(),
        "content": message.content,
        "timestamp": iso_timestamp(message.created),
        "edited_timestamp": iso_timestamp(message.edited) if message.edited else None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [world.users[u].render() for u in message.mentions if u in world.users],
        "mention_roles": [],
        "attachments": [
            render_attachment(world, world.attachments[a])
            for a in message.attachment_ids
            if a in world.attachments
        ],
        "embeds": [{"type": "rich", **e} for e in message.embeds],
        "components": message.components,
        "pinned": False,
        "flags": message.flags,
    }
    if nonce and message.nonce is not None:
        body["nonce"] = message.nonce
    if message.reactions:
        body["reactions"] = [
            {
                "count": 1,
                "me": True,
                "me_burst": False,
                "burst_count": 0,
                "count_details": {"burst": 0, "normal": 1},
                "burst_colors": [],
                "emoji": {"id": None, "name": emoji},
            }
            for emoji in sorted(message.reactions)
        ]
    if message.webhook_id is not None:
        body["webhook_id"] = str(message.webhook_id)
        body["application_id"] = str(world.application_id)
    if message.message_reference is not None:
        body["message_reference"] = message.message_reference
    if message.thread_id is not None and message.thread_id in world.channels:
        body["thread"] = render_channel(world, world.channels[message.thread_id])
    if message.interaction_id is not None and message.interaction_id in world.interactions:
        interaction = world.interactions[message.interaction_id]
        body["interaction_metadata"] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": render_user(world, interaction.user_id),
            "authorizing_integration_owners": {"0": str(world.guild_id)},
        }
        if message.type == CHAT_INPUT_COMMAND:
            body["interaction"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": str(interaction.data.get("name", "")),
                "user": render_user(world, interaction.user_id),
            }
    channel = world.channels.get(message.channel_id)
    if channel is not None and channel.is_thread:
        body["position"] = max(0, channel.message_count - 1)
    if gateway and message.guild_id is not None:
        body["guild_id"] = str(message.guild_id)
        if message.author_id in world.members and message.webhook_id is None:
            body["member"] = render_member(world, message.author_id, with_user=False)
    return body


def strip_content(data: JsonDict) -> JsonDict:
    """What a bot without the MESSAGE_CONTENT intent receives: the message, emptied."""
    stripped = dict(data)
    stripped.update({"content": "", "embeds": [], "attachments": [], "components": []})
    stripped.pop("poll", None)
    return stripped


def render_guild(world: World, *, full: bool, all_members: bool = False) -> JsonDict:
    """GET /guilds/{id}, or with `full=True` the GUILD_CREATE a bot receives after READY.

    Without the GUILD_MEMBERS intent GUILD_CREATE lists only the bot itself, as on Discord;
    with it (`all_members=True`) a small guild lists everyone.
    """
    member_ids = list(world.members) if all_members else [world.bot_user_id]
    body: JsonDict = {
        "id": str(world.guild_id),
        "name": world.guild_name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(world.owner_id),
        "region": None,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "features": [],
        "roles": [r.render() for r in world.roles.values()],
        "emojis": [],
        "stickers": [],
        "application_id": None,
        "vanity_url_code": None,
        "max_members": 500000,
    }
    if full:
        visible = [c for c in world.channels.values() if world.bot_can_view(c) and not c.is_dm]
        body.update(
            {
                "joined_at": "2024-01-01T00:00:00+00:00",
                "large": False,
                "unavailable": False,
                "member_count": len(world.members),
                "members": [render_member(world, m) for m in member_ids],
                "channels": [render_channel(world, c) for c in visible if not c.is_thread],
                "threads": [
                    render_channel(world, c) for c in visible if c.is_thread and not c.archived
                ],
                "presences": [],
                "voice_states": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }
        )
    return body
