"""What a route sees (a parsed request) and what it gives back (one of three answer kinds).

Routes stay free of socket code: the server reads the request into `Request`, calls the route,
and writes whichever `Response` comes back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from .errors import bad_request, invalid_type, missing_parameter


@dataclass
class JsonResponse:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class BytesResponse:
    content: bytes
    content_type: str = "application/octet-stream"
    status: int = 200


@dataclass
class StreamResponse:
    """Server-sent events: each item is written and flushed as one HTTP chunk."""

    chunks: Iterator[bytes]
    content_type: str = "text/event-stream; charset=utf-8"


Response = JsonResponse | BytesResponse | StreamResponse


@dataclass
class FormFile:
    filename: str
    content: bytes
    content_type: str


@dataclass
class Form:
    fields: dict[str, str]
    files: dict[str, FormFile]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    query_string: str = ""  # as sent, percent-decoded; kept for the request log

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query_one(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid_type(name, "an integer") from None
        if not low <= value <= high:
            raise bad_request(
                f"Invalid '{name}': integer must be between {low} and {high}.",
                param=name,
                code="integer_out_of_range",
            )
        return value

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            raise bad_request(
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
                "but what was sent was not valid JSON.)"
            ) from None
        if not isinstance(data, dict):
            raise bad_request("The request body must be a JSON object.")
        return data

    def form(self) -> Form:
        content_type = self.headers.get("content-type", "")
        boundary = _header_param("content-type", content_type, "boundary")
        if not content_type.lower().startswith("multipart/form-data") or not boundary:
            raise bad_request(
                "Invalid Content-Type header (expected multipart/form-data).", param=None
            )
        return parse_multipart(self.body, boundary.encode("latin-1"))


JSON_TYPE_NAMES = {str: "a string", int: "an integer", list: "an array", dict: "an object"}
Handler = Callable[[Any, Request], Response]


@dataclass(frozen=True)
class Route:
    """One endpoint: `pattern` is a full-match regex whose named groups become `params`."""

    method: str
    pattern: str
    handler: Handler

    def match(self, path: str) -> dict[str, str] | None:
        found = re.fullmatch(self.pattern, path)
        return found.groupdict() if found else None


def cursor_page(items: Sequence[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    """A cursor page as the SDK's `CursorPage` reads it: items after the `after` id."""
    start = 0
    if after is not None:
        ids = [item["id"] for item in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    data = list(items[start : start + limit])
    return {"object": "list", "data": data, "has_more": start + limit < len(items)}


def require(body: dict[str, Any], name: str, kind: type | tuple[type, ...] = str) -> Any:
    """A required body field of the given JSON type, or the API's 400 for it."""
    if body.get(name) is None:
        raise missing_parameter(name)
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        raise invalid_type(name, " or ".join(JSON_TYPE_NAMES.get(k, k.__name__) for k in kinds))
    return value


def parse_multipart(body: bytes, boundary: bytes) -> Form:
    """Split a multipart/form-data body exactly on its boundary (binary-safe, no re-encoding)."""
    fields: dict[str, str] = {}
    files: dict[str, FormFile] = {}
    for raw in body.split(b"--" + boundary)[1:]:
        if raw.startswith(b"--"):
            break
        head, _, content = raw.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            header, _, value = line.partition(":")
            if header:
                headers[header.strip()] = value.strip()
        disposition = headers.get("content-disposition", "")
        field_name = _header_param("content-disposition", disposition, "name")
        if not field_name:
            continue
        filename = _header_param("content-disposition", disposition, "filename")
        if filename is None:
            fields[field_name] = content.decode("utf-8", "replace")
        else:
            files[field_name] = FormFile(
                filename, content, headers.get("content-type", "application/octet-stream")
            )
    return Form(fields, files)


def _header_param(header: str, value: str, param: str) -> str | None:
    message = Message()
    message[header] = value
    found = message.get_param(param, header=header)
    if found is None or isinstance(found, str):
        return found
    return str(found[2])  # an RFC 2231 (charset, language, value) triple


def read_body(rfile: Any, headers: Message) -> bytes:
    """The request body, by Content-Length or chunked transfer coding."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts: list[bytes] = []
        while True:
            size_line = rfile.readline().split(b";")[0].strip()
            size = int(size_line or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(rfile.read(size))
            rfile.readline()
    length = int(headers.get("content-length") or 0)
    return bytes(rfile.read(length)) if length else b""


__all__ = [
    "BytesResponse",
    "Form",
    "FormFile",
    "Handler",
    "JsonResponse",
    "Request",
    "Response",
    "Route",
    "StreamResponse",
    "cursor_page",
    "parse_multipart",
    "read_body",
    "require",
]
