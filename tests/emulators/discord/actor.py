"""The people in the guild acting toward the bot: they post (with files), start threads, run
`/finetune …`, type into autocomplete, click buttons, pick from selects and submit modals.

Each action first changes the guild (the message exists before the event about it, as on
Discord), then dispatches the gateway event. Interactions return at once with the stored
`Interaction`; `wait_for_callback` waits for the bot's answer, whose 3-second clock started
when the interaction was created.
"""

from __future__ import annotations

import copy
import mimetypes
import time
from typing import Any

from tests.emulators.discord.compose import mentions_in
from tests.emulators.discord.payloads import (
    command_options,
    find_command,
    find_component,
    interaction_payload,
    modal_submit_data,
    new_token,
)
from tests.emulators.discord.records import (
    APPLICATION_COMMAND,
    APPLICATION_COMMAND_AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    REPLY,
    Attachment,
    Interaction,
    JsonDict,
    Message,
)
from tests.emulators.discord.world import Event, World

FileSpec = tuple[str, bytes] | tuple[str, bytes, str]
BUTTON, STRING_SELECT = 2, 3


class GuildActor:
    """Discord's side of the conversation with the bot under test."""

    def __init__(self, world: World) -> None:
        self._world = world

    # -- messages ----------------------------------------------------------------------------

    def upload(
        self,
        user: int,
        channel: int,
        name: str,
        content: bytes,
        content_type: str | None = None,
        *,
        serve: str = "file",
    ) -> Attachment:
        """A file as a person's client uploads it, before it is attached to anything; `serve`
        says how the CDN will answer for it (see `Attachment.serve`)."""
        kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        with self._world.lock:
            return self._world.store_attachment(channel, name, content, kind, user, serve=serve)

    def post(
        self,
        user: int,
        channel: int,
        content: str = "",
        *,
        files: list[FileSpec] | None = None,
        reply_to: int | None = None,
        serve: str = "file",
    ) -> Message:
        """A person writes in a channel or thread, optionally with files (served by the CDN as
        `serve` says); MESSAGE_CREATE follows. Returns a copy of the stored message."""
        world = self._world
        attachments = [self.upload(user, channel, *spec, serve=serve) for spec in files or []]
        with world.lock:
            target = world.channel(channel, for_bot=False)
            world.user(user)
            reference = None
            if reply_to is not None:
                reference = {
                    "message_id": str(reply_to),
                    "channel_id": str(channel),
                    "guild_id": str(world.guild_id),
                }
            message = Message(
                world.ids.next(),
                target.id,
                world.guild_id,
                user,
                content=content,
                attachment_ids=[a.id for a in attachments],
                mentions=mentions_in(world, content),
                type=REPLY if reply_to is not None else 0,
                message_reference=reference,
            )
            if target.is_thread:
                target.thread_members.add(user)
            world.add_message(message)
            return copy.deepcopy(message)

    def edit(self, user: int, message_id: int, content: str) -> Message:
        """A person edits their own message; MESSAGE_UPDATE follows."""
        world = self._world
        with world.lock:
            message = world.messages[message_id]
            if message.author_id != user:
                raise PermissionError("people can only edit their own messages")
            world.edit_message(message, {"content": content})
            message.mentions = mentions_in(world, content)
            return copy.deepcopy(message)

    def start_thread(
        self, user: int, channel: int, name: str, *, message_id: int | None = None
    ) -> int:
        """A person opens a thread (on a message, or on its own); returns the thread id."""
        world = self._world
        with world.lock:
            parent = world.channel(channel, for_bot=False)
            starter = world.messages[message_id] if message_id is not None else None
            return world.create_thread(parent, name, user, starter=starter).id

    # -- interactions ------------------------------------------------------------------------

    def _interact(self, interaction: Interaction) -> Interaction:
        world = self._world
        world.interactions[interaction.id] = interaction
        world.interactions_by_token[interaction.token] = interaction.id
        interaction.created = time.time()
        payload = interaction_payload(world, interaction)
        world.emit(Event("INTERACTION_CREATE", payload, 0, interaction.channel_id))
        return copy.deepcopy(interaction)

    def _new(
        self, kind: int, user: int, channel: int, data: JsonDict, message_id: int | None = None
    ) -> Interaction:
        world = self._world
        place = world.channel(channel, for_bot=False)
        if place.is_dm:
            # Only the person the bot talks to is in a DM; their interactions carry no guild.
            if place.recipient_id != user:
                raise LookupError(f"{user} is not in the DM channel {channel}")
            world.user(user)
        else:
            world.member(user)
        return Interaction(
            world.ids.next(),
            new_token(),
            kind,
            user,
            channel,
            place.guild_id,
            data,
            message_id=message_id,
        )

    def _command_data(
        self, command_line: str, options: dict[str, Any], *, focused: str | None
    ) -> JsonDict:
        world = self._world
        name, *path = command_line.removeprefix("/").split()
        command = find_command(world, name)
        resolved: JsonDict = {}
        data: JsonDict = {
            "id": str(command.id),
            "name": command.name,
            "type": command.type,
            "options": command_options(world, command, path, options, resolved, focused=focused),
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        if resolved:
            data["resolved"] = resolved
        return data

    def run_command(
        self, user: int, channel: int, command_line: str, **options: Any
    ) -> Interaction:
        """`/finetune start dataset:ds-1 epochs:3` is `run_command(ALICE, GENERAL,
        "finetune start", dataset="ds-1", epochs=3)`. An attachment option takes an
        `Attachment` from `upload()`."""
        with self._world.lock:
            data = self._command_data(command_line, options, focused=None)
            return self._interact(self._new(APPLICATION_COMMAND, user, channel, data))

    def autocomplete(
        self, user: int, channel: int, command_line: str, focused: str, **options: Any
    ) -> Interaction:
        """A person types into option `focused` (its partial value in `options`)."""
        if focused not in options:
            raise ValueError("the focused option needs the text typed so far")
        with self._world.lock:
            data = self._command_data(command_line, options, focused=focused)
            return self._interact(self._new(APPLICATION_COMMAND_AUTOCOMPLETE, user, channel, data))

    def _component(
        self, user: int, message_id: int, custom_id: str, kind: int
    ) -> tuple[Message, JsonDict]:
        world = self._world
        message = world.messages.get(message_id)
        if message is None or message.deleted or message.ephemeral_to not in (None, user):
            raise LookupError(f"message {message_id} is not visible to {user}")
        channel = world.channels[message.channel_id]
        if channel.is_dm and channel.recipient_id != user:
            raise LookupError(f"message {message_id} is in a DM {user} is not part of")
        component = find_component(message.components, custom_id)
        if component is None or component.get("type") != kind:
            raise LookupError(f"no component {custom_id!r} of type {kind} on message {message_id}")
        if component.get("disabled"):
            raise LookupError(f"component {custom_id!r} is disabled")
        return message, component

    def click(self, user: int, message_id: int, custom_id: str) -> Interaction:
        """A person clicks a button the bot posted, in the guild or in their DM with the bot
        (LookupError if there is no such button, or the message is not theirs to see)."""
        with self._world.lock:
            message, _ = self._component(user, message_id, custom_id, BUTTON)
            data = {"custom_id": custom_id, "component_type": BUTTON}
            return self._interact(
                self._new(MESSAGE_COMPONENT, user, message.channel_id, data, message.id)
            )

    def deliver_again(self, interaction_id: int) -> None:
        """Dispatch an interaction's INTERACTION_CREATE once more, with the same id and token:
        what a gateway session replaying events from an older sequence number delivers twice.
        Discord keeps the first acknowledgement: a second one is refused (40060)."""
        world = self._world
        with world.lock:
            interaction = world.interactions[interaction_id]
            payload = interaction_payload(world, interaction)
            world.emit(Event("INTERACTION_CREATE", payload, 0, interaction.channel_id))

    def select(self, user: int, message_id: int, custom_id: str, values: list[str]) -> Interaction:
        """A person picks options in a string select menu."""
        with self._world.lock:
            message, component = self._component(user, message_id, custom_id, STRING_SELECT)
            offered = {str(o.get("value")) for o in component.get("options") or []}
            if not set(values) <= offered:
                raise LookupError(
                    f"{sorted(set(values) - offered)} are not options of {custom_id!r}"
                )
            data = {"custom_id": custom_id, "component_type": STRING_SELECT, "values": list(values)}
            return self._interact(
                self._new(MESSAGE_COMPONENT, user, message.channel_id, data, message.id)
            )

    def submit_modal(self, user: int, interaction_id: int, values: dict[str, str]) -> Interaction:
        """A person fills in and submits the modal the bot opened in answer to their
        `interaction_id`; values by text input custom_id."""
        world = self._world
        with world.lock:
            opener = world.interactions[interaction_id]
            callback = opener.callback
            if callback is None or callback.type != MODAL or opener.user_id != user:
                raise LookupError(f"interaction {interaction_id} opened no modal for {user}")
            data = modal_submit_data(callback.data, values)
            return self._interact(
                self._new(MODAL_SUBMIT, user, opener.channel_id, data, opener.message_id)
            )
