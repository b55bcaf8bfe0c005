"""INTERACTION_CREATE payloads as Discord builds them when a person uses the app.

Options are typed from the *registered* command (a person's client only offers what the app
registered), so an invocation the app did not register raises instead of reaching it.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.emulators.discord import seed
from tests.emulators.discord.records import (
    Attachment,
    Command,
    Interaction,
    JsonDict,
)
from tests.emulators.discord.render import (
    render_attachment,
    render_channel,
    render_member,
    render_message,
    render_user,
)
from tests.emulators.discord.world import World

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
)
ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024
BOT_DM = 1  # interaction context types: 0 GUILD, 1 BOT_DM, 2 PRIVATE_CHANNEL
DM_APP_PERMISSIONS = (
    seed.VIEW_CHANNEL
    | seed.SEND_MESSAGES
    | seed.EMBED_LINKS
    | seed.ATTACH_FILES
    | seed.READ_MESSAGE_HISTORY
    | seed.ADD_REACTIONS
)
"""What an app may do in a DM (no guild roles apply there)."""


def new_token() -> str:
    return "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)


def find_command(world: World, name: str) -> Command:
    """A guild command wins over a global one of the same name, as in Discord's client."""
    found = [c for c in world.commands.values() if c.name == name and c.type == 1]
    found.sort(key=lambda c: c.guild_id is None)
    if not found:
        raise LookupError(f"no /{name} command is registered (globally or in the guild)")
    return found[0]


def _coerce(option: JsonDict, value: Any, *, focused: bool) -> Any:
    kind = option.get("type")
    if focused:
        return str(value)  # autocomplete sends what was typed so far, as a string
    if kind == INTEGER:
        return int(value)
    if kind == NUMBER:
        return float(value)
    if kind == BOOLEAN:
        return bool(value)
    if kind in (USER, CHANNEL, ROLE, MENTIONABLE, ATTACHMENT):
        return str(value)
    choices = option.get("choices")
    if choices and value not in [c.get("value") for c in choices]:
        raise ValueError(f"{value!r} is not one of the choices of {option.get('name')!r}")
    return str(value)


def command_options(
    world: World,
    command: Command,
    path: list[str],
    values: dict[str, Any],
    resolved: JsonDict,
    *,
    focused: str | None = None,
) -> list[JsonDict]:
    """The nested `options` for `/command sub [sub] name:value ...`, validated like a client."""
    declared = command.options
    chain: list[JsonDict] = []
    for name in path:
        option = next(
            (
                o
                for o in declared
                if o.get("name") == name and o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)
            ),
            None,
        )
        if option is None:
            raise LookupError(f"/{command.name} has no subcommand {name!r}")
        chain.append(option)
        declared = list(option.get("options") or [])
    if any(o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in declared):
        raise LookupError(f"/{command.name} {' '.join(path)} needs a subcommand")
    leaf: list[JsonDict] = []
    for name, value in values.items():
        option = next((o for o in declared if o.get("name") == name), None)
        if option is None:
            raise LookupError(f"/{command.name} {' '.join(path)} has no option {name!r}")
        if name == focused and not option.get("autocomplete"):
            raise LookupError(f"option {name!r} does not autocomplete")
        item: JsonDict = {
            "name": name,
            "type": option["type"],
            "value": _resolve(world, option, value, resolved, focused=name == focused),
        }
        if name == focused:
            item["focused"] = True
        leaf.append(item)
    if focused is None:
        missing = [o["name"] for o in declared if o.get("required") and o["name"] not in values]
        if missing:
            raise ValueError(f"required options missing: {missing}")
    options = leaf
    for option in reversed(chain):
        options = [{"name": option["name"], "type": option["type"], "options": options}]
    return options


def _resolve(
    world: World, option: JsonDict, value: Any, resolved: JsonDict, *, focused: bool
) -> Any:
    kind = option.get("type")
    if kind == ATTACHMENT and isinstance(value, Attachment):
        resolved.setdefault("attachments", {})[str(value.id)] = render_attachment(world, value)
        return str(value.id)
    if kind == USER and not focused:
        user_id = int(value)
        resolved.setdefault("users", {})[str(user_id)] = world.users[user_id].render()
        if user_id in world.members:
            member = render_member(world, user_id, with_user=False)
            member["permissions"] = str(world.permissions(user_id))
            resolved.setdefault("members", {})[str(user_id)] = member
    if kind == CHANNEL and not focused:
        channel = world.channels[int(value)]
        body = render_channel(world, channel)
        body["permissions"] = str(world.permissions(world.bot_user_id))
        resolved.setdefault("channels", {})[str(channel.id)] = body
    if kind == ROLE and not focused:
        role = world.roles[int(value)]
        resolved.setdefault("roles", {})[str(role.id)] = role.render()
    return _coerce(option, value, focused=focused)


def interaction_payload(world: World, interaction: Interaction) -> JsonDict:
    """The INTERACTION_CREATE `d` for a stored interaction."""
    channel = world.channels[interaction.channel_id]
    if channel.is_dm:
        return _dm_interaction_payload(world, interaction)
    member = render_member(world, interaction.user_id)
    member["permissions"] = str(world.permissions(interaction.user_id))
    payload: JsonDict = {
        "id": str(interaction.id),
        "application_id": str(world.application_id),
        "type": interaction.type,
        "data": interaction.data,
        "guild_id": str(world.guild_id),
        "guild": {"id": str(world.guild_id), "locale": "en-US", "features": []},
        "channel_id": str(channel.id),
        "channel": {
            **render_channel(world, channel),
            "permissions": str(world.permissions(interaction.user_id)),
        },
        "member": member,
        "token": interaction.token,
        "version": 1,
        "app_permissions": str(world.permissions(world.bot_user_id)),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(world.guild_id)},
        "context": 0,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if interaction.message_id is not None:
        payload["message"] = render_message(world, world.messages[interaction.message_id])
    return payload


def _dm_interaction_payload(world: World, interaction: Interaction) -> JsonDict:
    """An interaction in the bot's DM with a person: `user` instead of `member`, no guild,
    the channel as a DM (type 1) and context 1 (BOT_DM). A guild-installed app is authorised
    there by its install, named "0" (no guild) in `authorizing_integration_owners`."""
    channel = world.channels[interaction.channel_id]
    payload: JsonDict = {
        "id": str(interaction.id),
        "application_id": str(world.application_id),
        "type": interaction.type,
        "data": interaction.data,
        "channel_id": str(channel.id),
        "channel": render_channel(world, channel),
        "user": render_user(world, interaction.user_id),
        "token": interaction.token,
        "version": 1,
        "app_permissions": str(DM_APP_PERMISSIONS),
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": "0"},
        "context": BOT_DM,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if interaction.message_id is not None:
        payload["message"] = render_message(world, world.messages[interaction.message_id])
    return payload


def modal_submit_data(modal: JsonDict, values: dict[str, str]) -> JsonDict:
    """The modal's rows with each text input's value, mirroring its shape (action rows or
    labels), as Discord sends a submit; unknown ids, missing required inputs and values
    outside an input's min_length/max_length raise (Discord's client will not submit them)."""
    seen: set[str] = set()

    def filled(component: JsonDict) -> JsonDict:
        custom_id = str(component.get("custom_id"))
        seen.add(custom_id)
        value = values.get(custom_id, component.get("value") or "")
        if component.get("required", True) and not value:
            raise ValueError(f"the modal's input {custom_id!r} is required")
        low, high = int(component.get("min_length") or 0), component.get("max_length")
        if value and (len(value) < low or (high is not None and len(value) > int(high))):
            raise ValueError(
                f"the modal's input {custom_id!r} takes {low} to {high} characters, "
                f"not {len(value)}"
            )
        return {
            "type": component.get("type", 4),
            "id": component.get("id", 0),
            "custom_id": custom_id,
            "value": value,
        }

    rows: list[JsonDict] = []
    for row in modal.get("components") or []:
        if row.get("type") == 1:
            rows.append(
                {
                    "type": 1,
                    "id": row.get("id", 0),
                    "components": [filled(c) for c in row.get("components") or []],
                }
            )
        elif row.get("type") == 18 and isinstance(row.get("component"), dict):
            rows.append({"type": 18, "id": row.get("id", 0), "component": filled(row["component"])})
    unknown = set(values) - seen
    if unknown:
        raise LookupError(f"the modal has no inputs {sorted(unknown)}")
    return {"custom_id": modal["custom_id"], "components": rows}


def find_component(components: list[JsonDict], custom_id: str) -> JsonDict | None:
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        for key in ("components",):
            found = find_component(list(component.get(key) or []), custom_id)
            if found is not None:
                return found
        if isinstance(component.get("component"), dict):
            found = find_component([component["component"]], custom_id)
            if found is not None:
                return found
        if isinstance(component.get("accessory"), dict):
            found = find_component([component["accessory"]], custom_id)
            if found is not None:
                return found
    return None
