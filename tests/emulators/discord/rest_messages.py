"""Channels, messages and threads: what the bot posts, edits, reads back and opens threads on.

A create may carry a nonce and `enforce_nonce`: Discord then answers a repeat of a nonce the
same author used in the last few minutes with the message created the first time.

Every change goes through `World`, which dispatches MESSAGE_CREATE/UPDATE/DELETE and
THREAD_CREATE to the gateway, so the bot sees its own posts come back as a real guild sends them.
"""

from __future__ import annotations

from tests.emulators.discord import errors, limits
from tests.emulators.discord.compose import edit_changes, new_message
from tests.emulators.discord.records import PRIVATE_THREAD, PUBLIC_THREAD, REPLY, Message
from tests.emulators.discord.render import render_channel, render_message
from tests.emulators.discord.rest import ApiRequest, Reply, Route, snowflake
from tests.emulators.discord.world import World

AUTO_ARCHIVE_DURATIONS = {60, 1440, 4320, 10080}


def _channel(world: World, request: ApiRequest) -> Reply:
    return Reply(200, render_channel(world, world.channel(request.params["channel_id"])))


def _history(world: World, request: ApiRequest) -> Reply:
    """Newest first, at most `limit` (1-100, default 50), before/after/around a message."""
    channel = world.channel(request.params["channel_id"])
    try:
        limit = int(request.query.get("limit", "50"))
    except ValueError:
        raise errors.invalid_form(("limit",), "NUMBER_TYPE_COERCE", "Value is not int.") from None
    if not 1 <= limit <= 100:
        raise errors.invalid_form(
            ("limit",), "NUMBER_TYPE_MAX", "int value should be less than or equal to 100."
        )
    ids = [
        i
        for i in world.channel_messages.get(channel.id, [])
        if not world.messages[i].deleted and world.messages[i].ephemeral_to is None
    ]
    ids.sort(reverse=True)
    if "before" in request.query:
        before = int(request.query["before"])
        ids = [i for i in ids if i < before][:limit]
    elif "after" in request.query:
        after = int(request.query["after"])
        ids = sorted(i for i in ids if i > after)[:limit]
        ids.reverse()
    elif "around" in request.query:
        around = int(request.query["around"])
        older = [i for i in ids if i <= around][: (limit + 1) // 2]
        newer = sorted(i for i in ids if i > around)[: limit // 2]
        ids = sorted(older + newer, reverse=True)
    else:
        ids = ids[:limit]
    return Reply(200, [render_message(world, world.messages[i]) for i in ids])


def _create(world: World, request: ApiRequest) -> Reply:
    """A new message; with `enforce_nonce`, a nonce the bot used within `world.nonce_window`
    answers the message it created then, and creates nothing (no MESSAGE_CREATE either)."""
    channel = world.channel(request.params["channel_id"])
    world.check_bot_may_message(channel)
    body = request.body()
    nonce = body.get("nonce")
    if nonce is not None and body.get("enforce_nonce") is True:
        limits.check_message(body, files=len(request.files))
        earlier = world.sent_with_nonce(world.bot_user_id, nonce)
        if earlier is not None:
            return Reply(200, render_message(world, earlier, nonce=True))
    fields = new_message(world, request, channel.id, world.bot_user_id)
    kind = 0
    reference = None
    if isinstance(body.get("message_reference"), dict):
        ref_id = snowflake(
            body["message_reference"].get("message_id"), ("message_reference", "message_id")
        )
        world.message(channel, ref_id)  # 10008 when it is not in this channel
        reference = {"message_id": str(ref_id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            reference["guild_id"] = str(channel.guild_id)
        kind = REPLY
    message = Message(
        world.ids.next(),
        channel.id,
        channel.guild_id,
        world.bot_user_id,
        type=kind,
        message_reference=reference,
        nonce=nonce if isinstance(nonce, str | int) else None,
        **fields,
    )
    if channel.is_thread:
        channel.archived = False  # posting in an archived thread unarchives it
    world.add_message(message)
    return Reply(200, render_message(world, message, nonce=True))


def _message(world: World, request: ApiRequest) -> Message:
    channel = world.channel(request.params["channel_id"])
    message = world.message(channel, request.params["message_id"])
    if message.ephemeral_to is not None:
        raise errors.unknown("Message", errors.UNKNOWN_MESSAGE)
    return message


def _get(world: World, request: ApiRequest) -> Reply:
    return Reply(200, render_message(world, _message(world, request)))


def _edit(world: World, request: ApiRequest) -> Reply:
    message = _message(world, request)
    if message.author_id != world.bot_user_id or message.webhook_id is not None:
        raise errors.cannot_edit_others()
    world.edit_message(message, edit_changes(world, request, message))
    return Reply(200, render_message(world, message))


def _delete(world: World, request: ApiRequest) -> Reply:
    message = _message(world, request)
    if message.author_id != world.bot_user_id:
        # Deleting others' messages needs MANAGE_MESSAGES, which the bot's role lacks.
        raise errors.missing_permissions()
    world.delete_message(message)
    return Reply(204)


def _typing(world: World, request: ApiRequest) -> Reply:
    world.channel(request.params["channel_id"])
    return Reply(204)


def _thread_name(request: ApiRequest) -> tuple[str, int]:
    body = request.body()
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= 100:
        raise errors.invalid_form(
            ("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    duration = int(body.get("auto_archive_duration") or 1440)
    if duration not in AUTO_ARCHIVE_DURATIONS:
        raise errors.invalid_form(
            ("auto_archive_duration",),
            "BASE_TYPE_CHOICES",
            "Value must be one of {60, 1440, 4320, 10080}.",
        )
    return name, duration


def _thread_from_message(world: World, request: ApiRequest) -> Reply:
    channel = world.channel(request.params["channel_id"])
    starter = world.message(channel, request.params["message_id"])
    name, duration = _thread_name(request)
    thread = world.create_thread(
        channel, name, world.bot_user_id, starter=starter, auto_archive_duration=duration
    )
    return Reply(201, render_channel(world, thread))


def _thread_without_message(world: World, request: ApiRequest) -> Reply:
    channel = world.channel(request.params["channel_id"])
    name, duration = _thread_name(request)
    kind = int(request.body().get("type") or PRIVATE_THREAD)  # Discord's default is private
    if kind not in (PUBLIC_THREAD, PRIVATE_THREAD):
        raise errors.invalid_form(
            ("type",), "BASE_TYPE_CHOICES", "Value must be one of {10, 11, 12}."
        )
    thread = world.create_thread(
        channel, name, world.bot_user_id, type_=kind, auto_archive_duration=duration
    )
    return Reply(201, render_channel(world, thread))


def _join(world: World, request: ApiRequest) -> Reply:
    thread = world.channel(request.params["channel_id"])
    if not thread.is_thread:
        raise errors.invalid_form(("channel_id",), "CHANNEL_TYPE_INVALID", "Not a thread")
    thread.thread_members.add(world.bot_user_id)
    world.notify()
    return Reply(204)


def _leave(world: World, request: ApiRequest) -> Reply:
    thread = world.channel(request.params["channel_id"])
    thread.thread_members.discard(world.bot_user_id)
    world.notify()
    return Reply(204)


def _react(world: World, request: ApiRequest) -> Reply:
    message = _message(world, request)
    message.reactions.add(request.params["emoji"])
    world.notify()
    return Reply(204)


ROUTES = [
    Route("GET", "/channels/{channel_id}", _channel),
    Route("GET", "/channels/{channel_id}/messages", _history),
    Route("POST", "/channels/{channel_id}/messages", _create),
    Route("GET", "/channels/{channel_id}/messages/{message_id}", _get),
    Route("PATCH", "/channels/{channel_id}/messages/{message_id}", _edit),
    Route("DELETE", "/channels/{channel_id}/messages/{message_id}", _delete),
    Route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", _react),
    Route("POST", "/channels/{channel_id}/typing", _typing),
    Route("POST", "/channels/{channel_id}/messages/{message_id}/threads", _thread_from_message),
    Route("POST", "/channels/{channel_id}/threads", _thread_without_message),
    Route("PUT", "/channels/{channel_id}/thread-members/@me", _join),
    Route("DELETE", "/channels/{channel_id}/thread-members/@me", _leave),
]
