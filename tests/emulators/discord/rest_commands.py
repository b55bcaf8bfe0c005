"""Application command registration: global and per guild, one at a time or bulk overwrite.

discord.py's `CommandTree.sync()` is a bulk overwrite (PUT); a front end that registers one
command uses POST, which upserts by name. A bulk overwrite keeps the id of a command whose
name and type stay, as Discord does, so interactions already in flight still resolve.
"""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.discord import errors
from tests.emulators.discord.errors import FormErrors
from tests.emulators.discord.records import Command, JsonDict
from tests.emulators.discord.rest import ApiRequest, Reply, Route
from tests.emulators.discord.world import World

NAME = re.compile(r"^[-_'\w]{1,32}$")
CHAT_INPUT = 1
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
OPTIONS_LIMIT = 25
KNOWN_FIELDS = {"name", "description", "type", "options"}


def _scope(world: World, request: ApiRequest) -> int | None:
    if request.params["application_id"] != str(world.application_id):
        raise errors.missing_access()
    guild = request.params.get("guild_id")
    if guild is None:
        return None
    if guild != str(world.guild_id):
        raise errors.missing_access()
    return world.guild_id


def _check_options(form: FormErrors, path: tuple[str | int, ...], options: list[Any]) -> None:
    if len(options) > OPTIONS_LIMIT:
        form.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {OPTIONS_LIMIT} or fewer in length.")
    seen: set[str] = set()
    for index, option in enumerate(options):
        name = str(option.get("name") or "")
        if not NAME.match(name) or name != name.lower():
            form.add(
                (*path, index, "name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            )
        if name in seen:
            form.add(
                (*path, index, "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option name already exists",
            )
        seen.add(name)
        if not 1 <= len(str(option.get("description") or "")) <= 100:
            form.add(
                (*path, index, "description"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _check_options(form, (*path, index, "options"), list(option.get("options") or []))


def _check(form: FormErrors, path: tuple[str | int, ...], body: JsonDict) -> None:
    name = str(body.get("name") or "")
    kind = int(body.get("type") or CHAT_INPUT)
    if not NAME.match(name) or (kind == CHAT_INPUT and name != name.lower()):
        form.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if kind == CHAT_INPUT and not 1 <= len(str(body.get("description") or "")) <= 100:
        form.add(
            (*path, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    _check_options(form, (*path, "options"), list(body.get("options") or []))


def _in_scope(world: World, guild_id: int | None) -> list[Command]:
    return [c for c in world.commands.values() if c.guild_id == guild_id]


def _upsert(world: World, guild_id: int | None, body: JsonDict) -> tuple[Command, bool]:
    kind = int(body.get("type") or CHAT_INPUT)
    existing = next(
        (c for c in _in_scope(world, guild_id) if c.name == body["name"] and c.type == kind), None
    )
    extra = {k: v for k, v in body.items() if k not in KNOWN_FIELDS}
    if existing is not None:
        existing.description = str(body.get("description") or "")
        existing.options = list(body.get("options") or [])
        existing.extra = extra
        existing.version += 1
        return existing, False
    command = Command(
        world.ids.next(),
        world.application_id,
        str(body["name"]),
        str(body.get("description") or ""),
        guild_id,
        kind,
        list(body.get("options") or []),
        extra=extra,
    )
    world.commands[command.id] = command
    return command, True


def _list(world: World, request: ApiRequest) -> Reply:
    return Reply(200, [c.render() for c in _in_scope(world, _scope(world, request))])


def _create(world: World, request: ApiRequest) -> Reply:
    guild_id = _scope(world, request)
    form = FormErrors()
    _check(form, (), request.body())
    form.raise_if_any()
    command, created = _upsert(world, guild_id, request.body())
    world.notify()
    return Reply(201 if created else 200, command.render())


def _overwrite(world: World, request: ApiRequest) -> Reply:
    guild_id = _scope(world, request)
    bodies = request.json if isinstance(request.json, list) else None
    if bodies is None:
        raise errors.invalid_form(
            (), "MODEL_TYPE_CONVERT", "Only iterables may be used in a ListType"
        )
    form = FormErrors()
    names: set[tuple[str, int]] = set()
    for index, body in enumerate(bodies):
        _check(form, (index,), body)
        key = (str(body.get("name")), int(body.get("type") or CHAT_INPUT))
        if key in names:
            form.add(
                (index, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        names.add(key)
    form.raise_if_any()
    kept = {_upsert(world, guild_id, body)[0].id for body in bodies}
    for command in _in_scope(world, guild_id):
        if command.id not in kept:
            del world.commands[command.id]
    world.notify()
    ordered = [world.commands[i] for i in kept]
    return Reply(200, [c.render() for c in sorted(ordered, key=lambda c: c.id)])


def _command(world: World, request: ApiRequest) -> Command:
    guild_id = _scope(world, request)
    try:
        found = world.commands.get(int(request.params["command_id"]))
    except ValueError:
        found = None
    if found is None or found.guild_id != guild_id:
        raise errors.unknown("application command", errors.UNKNOWN_COMMAND)
    return found


def _get(world: World, request: ApiRequest) -> Reply:
    return Reply(200, _command(world, request).render())


def _edit(world: World, request: ApiRequest) -> Reply:
    command = _command(world, request)
    merged = {**command.render(), **request.body()}
    form = FormErrors()
    _check(form, (), merged)
    form.raise_if_any()
    command.name = str(merged["name"])
    command.description = str(merged.get("description") or "")
    command.options = list(merged.get("options") or [])
    command.version += 1
    world.notify()
    return Reply(200, command.render())


def _delete(world: World, request: ApiRequest) -> Reply:
    command = _command(world, request)
    del world.commands[command.id]
    world.notify()
    return Reply(204)


def _routes(prefix: str) -> list[Route]:
    return [
        Route("GET", prefix, _list),
        Route("POST", prefix, _create),
        Route("PUT", prefix, _overwrite),
        Route("GET", prefix + "/{command_id}", _get),
        Route("PATCH", prefix + "/{command_id}", _edit),
        Route("DELETE", prefix + "/{command_id}", _delete),
    ]


ROUTES = [
    *_routes("/applications/{application_id}/commands"),
    *_routes("/applications/{application_id}/guilds/{guild_id}/commands"),
]
