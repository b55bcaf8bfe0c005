"""Answering interactions: `/interactions/{id}/{token}/callback` and the interaction webhook.

Discord's rules, each one a way a front end really fails:
- one callback per interaction (a second is 40060 "already acknowledged");
- the callback must come within 3 seconds of the interaction (later: 10062 Unknown
  interaction), then the token works for webhooks for 15 minutes (later: 50027);
- a callback type must fit the interaction (autocomplete answers only autocomplete, update
  types only components and modals on a message, no modal in answer to a modal);
- a deferred answer shows a "thinking" message (flag LOADING) that `@original` edits fill in,
  and the first followup after a deferral replaces it instead of posting a new message.
"""

from __future__ import annotations

import time

from tests.emulators.discord import errors, limits
from tests.emulators.discord.compose import edit_changes, new_message
from tests.emulators.discord.records import (
    APPLICATION_COMMAND,
    APPLICATION_COMMAND_AUTOCOMPLETE,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE_WITH_SOURCE,
    CHAT_INPUT_COMMAND,
    DEFAULT,
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_UPDATE_MESSAGE,
    EPHEMERAL,
    LOADING,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    UPDATE_MESSAGE,
    Callback,
    Interaction,
    JsonDict,
    Message,
)
from tests.emulators.discord.render import render_message
from tests.emulators.discord.rest import ApiRequest, Reply, Route
from tests.emulators.discord.world import World

ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: (CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, MODAL),
    MESSAGE_COMPONENT: (
        CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    ),
    APPLICATION_COMMAND_AUTOCOMPLETE: (AUTOCOMPLETE_RESULT,),
    MODAL_SUBMIT: (
        CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    ),
}


def _interaction(world: World, request: ApiRequest) -> Interaction:
    try:
        found = world.interactions.get(int(request.params["interaction_id"]))
    except ValueError:
        found = None
    if found is None or found.token != request.params["token"]:
        raise errors.unknown("interaction", errors.UNKNOWN_INTERACTION)
    return found


def _response_message(
    world: World, interaction: Interaction, request: ApiRequest, data: JsonDict, *, loading: bool
) -> Message:
    fields = (
        {"flags": int(data.get("flags") or 0) & EPHEMERAL}
        if loading
        else new_message(world, request, interaction.channel_id, world.bot_user_id, data)
    )
    if loading:
        fields["flags"] |= LOADING
    ephemeral = bool(fields["flags"] & EPHEMERAL)
    message = Message(
        world.ids.next(),
        interaction.channel_id,
        interaction.guild_id,
        world.bot_user_id,
        type=CHAT_INPUT_COMMAND if interaction.type == APPLICATION_COMMAND else DEFAULT,
        interaction_id=interaction.id,
        webhook_id=world.application_id,
        ephemeral_to=interaction.user_id if ephemeral else None,
        **fields,
    )
    return world.add_message(message)


def _callback(world: World, request: ApiRequest) -> Reply:
    interaction = _interaction(world, request)
    body = request.body()
    kind = int(body.get("type") or 0)
    data = body.get("data") or {}
    if interaction.callback is not None:
        interaction.refused_callbacks.append((kind, 40060))
        raise errors.already_acknowledged()
    if time.time() - interaction.created > world.ack_window:
        interaction.refused_callbacks.append((kind, errors.UNKNOWN_INTERACTION))
        raise errors.unknown("interaction", errors.UNKNOWN_INTERACTION)
    allowed = ALLOWED_CALLBACKS.get(interaction.type, ())
    on_message = interaction.message_id is not None
    if kind not in allowed or (
        kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE) and not on_message
    ):
        raise errors.invalid_form(
            ("type",), "BASE_TYPE_CHOICES", f"Value must be one of {set(allowed)}."
        )
    message: Message | None = None
    if kind == CHANNEL_MESSAGE_WITH_SOURCE:
        message = _response_message(world, interaction, request, data, loading=False)
    elif kind == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
        message = _response_message(world, interaction, request, data, loading=True)
    elif kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
        assert interaction.message_id is not None
        message = world.messages[interaction.message_id]
        if kind == UPDATE_MESSAGE:
            world.edit_message(message, edit_changes(world, request, message, data))
    elif kind == AUTOCOMPLETE_RESULT:
        limits.check_choices(list(data.get("choices") or []))
    elif kind == MODAL:
        limits.check_modal(data)
        interaction.modal = data
    interaction.callback = Callback(kind, data, time.time())
    if message is not None:
        interaction.original_message_id = message.id
    world.notify()
    if not request.flag("with_response"):
        return Reply(204)
    answer: JsonDict = {
        "interaction": {
            "id": str(interaction.id),
            "type": interaction.type,
            "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            "response_message_ephemeral": bool(message and message.ephemeral_to is not None),
        },
        "resource": {"type": kind},
    }
    if message is not None:
        answer["interaction"]["response_message_id"] = str(message.id)
        answer["resource"]["message"] = render_message(world, message)
    return Reply(200, answer)


def _by_token(world: World, request: ApiRequest) -> Interaction:
    """The interaction a webhook token belongs to; 10015 for a stranger, 50027 once stale."""
    interaction_id = world.interactions_by_token.get(request.params["token"])
    if request.params["application_id"] != str(world.application_id) or interaction_id is None:
        raise errors.unknown("Webhook", errors.UNKNOWN_WEBHOOK)
    interaction = world.interactions[interaction_id]
    if time.time() - interaction.created > world.token_ttl:
        raise errors.invalid_webhook_token()
    return interaction


def _target(world: World, request: ApiRequest) -> tuple[Interaction, Message]:
    interaction = _by_token(world, request)
    wanted = request.params.get("message_id", "@original")
    if wanted == "@original":
        message_id = interaction.original_message_id
    else:
        try:
            message_id = int(wanted)
        except ValueError:
            message_id = None
        if (
            message_id != interaction.original_message_id
            and message_id not in interaction.followup_ids
        ):
            message_id = None
    message = world.messages.get(message_id) if message_id is not None else None
    if message is None or message.deleted:
        raise errors.unknown("Message", errors.UNKNOWN_MESSAGE)
    return interaction, message


def _get_message(world: World, request: ApiRequest) -> Reply:
    return Reply(200, render_message(world, _target(world, request)[1]))


def _edit_message(world: World, request: ApiRequest) -> Reply:
    _, message = _target(world, request)
    changes = edit_changes(world, request, message)
    if message.flags & LOADING:
        changes["flags"] = message.flags & ~LOADING
    world.edit_message(message, changes)
    return Reply(200, render_message(world, message))


def _delete_message(world: World, request: ApiRequest) -> Reply:
    _, message = _target(world, request)
    world.delete_message(message)
    return Reply(204)


def _followup(world: World, request: ApiRequest) -> Reply:
    interaction = _by_token(world, request)
    if interaction.callback is None:
        raise errors.unknown("Webhook", errors.UNKNOWN_WEBHOOK)
    original = (
        world.messages.get(interaction.original_message_id)
        if interaction.original_message_id is not None
        else None
    )
    if original is not None and original.flags & LOADING and not interaction.followup_ids:
        # The first followup after a deferral fills in the "thinking" message.
        changes = edit_changes(world, request, original)
        changes["flags"] = original.flags & ~LOADING
        world.edit_message(original, changes)
        message = original
    else:
        fields = new_message(world, request, interaction.channel_id, world.bot_user_id)
        ephemeral = bool(fields["flags"] & EPHEMERAL)
        message = world.add_message(
            Message(
                world.ids.next(),
                interaction.channel_id,
                interaction.guild_id,
                world.bot_user_id,
                interaction_id=interaction.id,
                webhook_id=world.application_id,
                ephemeral_to=interaction.user_id if ephemeral else None,
                **fields,
            )
        )
    interaction.followup_ids.append(message.id)
    world.notify()
    if request.flag("wait"):
        return Reply(200, render_message(world, message))
    return Reply(204)


_WEBHOOK = "/webhooks/{application_id}/{token}"

ROUTES = [
    Route(
        "POST",
        "/interactions/{interaction_id}/{token}/callback",
        _callback,
        auth=False,
        global_exempt=True,
    ),
    Route("GET", _WEBHOOK + "/messages/@original", _get_message, auth=False, global_exempt=True),
    Route("PATCH", _WEBHOOK + "/messages/@original", _edit_message, auth=False, global_exempt=True),
    Route(
        "DELETE", _WEBHOOK + "/messages/@original", _delete_message, auth=False, global_exempt=True
    ),
    Route("POST", _WEBHOOK, _followup, auth=False, global_exempt=True),
    Route("GET", _WEBHOOK + "/messages/{message_id}", _get_message, auth=False, global_exempt=True),
    Route(
        "PATCH", _WEBHOOK + "/messages/{message_id}", _edit_message, auth=False, global_exempt=True
    ),
    Route(
        "DELETE",
        _WEBHOOK + "/messages/{message_id}",
        _delete_message,
        auth=False,
        global_exempt=True,
    ),
]
