"""What a REST route handler sees and answers, and how a path finds its route.

Handlers are plain functions `(world, request) -> Reply`, run with the world lock held; they
raise `DiscordError` to refuse. Everything about sockets, auth, faults and rate limits lives
in `http_api`, so handlers only express Discord's rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.discord import errors
from tests.emulators.discord.records import JsonDict
from tests.emulators.discord.world import World


@dataclass
class UploadedFile:
    """One `files[n]` part of a multipart body."""

    field: str
    filename: str
    content: bytes
    content_type: str

    @property
    def index(self) -> int | None:
        match = re.fullmatch(r"files\[(\d+)\]", self.field)
        return int(match.group(1)) if match else None


@dataclass
class ApiRequest:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any = None
    files: list[UploadedFile] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> JsonDict:
        """The JSON object sent (or `payload_json` of a multipart body); {} when none."""
        return self.json if isinstance(self.json, dict) else {}

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in {"1", "true"}


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # None with 204: no body at all


Handler = Callable[[World, ApiRequest], Reply]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    auth: bool = True  # interaction callbacks and webhooks authenticate by their token
    global_exempt: bool = False
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        self.regex = re.compile(f"^{pattern}$")

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def major(self, params: dict[str, str]) -> str:
        """The major parameter that splits one route into per-resource buckets."""
        for name in ("channel_id", "guild_id"):
            if name in params:
                return params[name]
        if "token" in params:
            return f"{params.get('application_id', '')}/{params['token']}"
        return ""


def find_route(routes: Sequence[Route], method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for `method path`; Discord answers 404 for unknown paths, 405 for a known
    path with another method."""
    path_known = False
    for route in routes:
        match = route.regex.match(path)
        if match is None:
            continue
        path_known = True
        if route.method == method:
            return route, match.groupdict()
    raise errors.method_not_allowed() if path_known else errors.not_found()


def snowflake(value: Any, path: tuple[str | int, ...]) -> int:
    """A snowflake field of a body, or Discord's 50035 NUMBER_TYPE_COERCE for it."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.invalid_form(
            path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.'
        ) from None
