"""Discord's error bodies, so every refusal is one discord.py parses into the right exception.

Discord answers `{"code": N, "message": "..."}` with an HTTP status, and for a bad body
`{"code": 50035, "message": "Invalid Form Body", "errors": {...}}` where `errors` mirrors the
JSON path of each bad field down to `{"_errors": [{"code": ..., "message": ...}]}`.
discord.py turns 403 into `Forbidden`, 404 into `NotFound`, other statuses into
`HTTPException`, and reads `code` and the flattened `errors` into `.code` and `.text`.
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]


class DiscordError(Exception):
    """A refusal: the HTTP status, Discord's JSON error code and message, and any details."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: JsonDict | None = None,
        headers: dict[str, str] | None = None,
        extra: JsonDict | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> JsonDict:
        body: JsonDict = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def unauthorized() -> DiscordError:
    return DiscordError(401, 0, "401: Unauthorized")


def not_found() -> DiscordError:
    """An unknown route, as opposed to an unknown resource (which has its own code)."""
    return DiscordError(404, 0, "404: Not Found")


def method_not_allowed() -> DiscordError:
    return DiscordError(405, 0, "405: Method Not Allowed")


def unknown(what: str, code: int) -> DiscordError:
    """10003 Unknown Channel, 10008 Unknown Message, 10062 Unknown interaction, ..."""
    return DiscordError(404, code, f"Unknown {what}")


UNKNOWN_GUILD = 10004
UNKNOWN_CHANNEL = 10003
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
UNKNOWN_COMMAND = 10063


def missing_access() -> DiscordError:
    return DiscordError(403, 50001, "Missing Access")


def missing_permissions() -> DiscordError:
    return DiscordError(403, 50013, "Missing Permissions")


def cannot_edit_others() -> DiscordError:
    return DiscordError(403, 50005, "Cannot edit a message authored by another user")


def cannot_message_user() -> DiscordError:
    """A DM to someone who turned off DMs from server members, blocked the bot, or shares no
    server with it."""
    return DiscordError(403, 50007, "Cannot send messages to this user")


def empty_message() -> DiscordError:
    return DiscordError(400, 50006, "Cannot send an empty message")


def already_acknowledged() -> DiscordError:
    return DiscordError(400, 40060, "Interaction has already been acknowledged.")


def invalid_webhook_token() -> DiscordError:
    return DiscordError(401, 50027, "Invalid Webhook Token")


def thread_already_created() -> DiscordError:
    return DiscordError(400, 160004, "A thread has already been created for this message")


def entity_too_large() -> DiscordError:
    return DiscordError(413, 40005, "Request entity too large")


class FormErrors:
    """Collects bad fields by JSON path, then raises one 50035 like Discord does."""

    def __init__(self) -> None:
        self._errors: JsonDict = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self._errors
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def error(self) -> DiscordError | None:
        if not self._errors:
            return None
        return DiscordError(400, 50035, "Invalid Form Body", errors=self._errors)

    def raise_if_any(self) -> None:
        error = self.error()
        if error is not None:
            raise error


def invalid_form(path: tuple[str | int, ...], code: str, message: str) -> DiscordError:
    """One bad field: `invalid_form(("content",), "BASE_TYPE_MAX_LENGTH", "Must be ...")`."""
    errors: JsonDict = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {str(key): errors}
    return DiscordError(400, 50035, "Invalid Form Body", errors=errors)
