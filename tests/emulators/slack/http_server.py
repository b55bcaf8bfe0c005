"""The emulator's HTTP face: the Web API, the upload URL, the file host and response_urls.

One loopback server answers all of them, so `file_host` is the API's own host:port, and a
second one stands in for "some other host" that a file download may be redirected to.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.emulators.slack.api_files import receive_upload
from tests.emulators.slack.faults import Faults
from tests.emulators.slack.records import JsonDict
from tests.emulators.slack.response_urls import post_to_url
from tests.emulators.slack.web_api import call_method
from tests.emulators.slack.workspace import Workspace

LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in | Slack</title></head>"
    b"<body><form action='/signin' method='post'><h1>Sign in to your workspace</h1>"
    b"<input name='email'><input name='password' type='password'></form></body></html>"
)


def _multipart(content_type: str, raw: bytes) -> JsonDict:
    """Form fields of a multipart body; file parts keep their bytes."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    fields: JsonDict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        fields[name] = payload if part.get_filename() else payload.decode("utf-8")
    return fields


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows the test's own output, not an access log."""

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: JsonDict) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        self._send(status, json.dumps(body).encode(), headers)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, verb: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        raw = self._body()
        ws = self.server.workspace
        if len(parts) == 2 and parts[0] == "api":
            self._api(parts[1], url.query, raw)
        elif verb == "POST" and len(parts) == 3 and parts[:2] == ["upload", "v1"]:
            status, text = receive_upload(ws, parts[2], self._upload_bytes(raw))
            self._send(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})
        elif verb == "GET" and len(parts) >= 3 and parts[0] == "files-pri":
            self._download(parts[1])
        elif verb == "POST" and len(parts) == 2 and parts[0] == "response":
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._json(400, {"ok": False, "error": "invalid_payload"})
                return
            self._json(*post_to_url(ws, parts[1], body if isinstance(body, dict) else {}))
        else:
            self._send(404, b"Not Found", {"Content-Type": "text/plain"})

    def _api(self, method: str, query: str, raw: bytes) -> None:
        params: JsonDict = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        content_type = self.headers.get_content_type()
        body_is_json = content_type == "application/json"
        try:
            if body_is_json and raw:
                decoded = json.loads(raw)
                params.update(decoded if isinstance(decoded, dict) else {})
            elif content_type == "multipart/form-data":
                params.update(_multipart(self.headers.get("Content-Type", ""), raw))
            elif raw:
                form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
                params.update({k: v[-1] for k, v in form.items()})
        except ValueError:
            self._json(
                200, {"ok": False, "error": "invalid_json" if body_is_json else "invalid_form_data"}
            )
            return
        token_param = params.pop("token", None)
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token: str | None = authorization.removeprefix("Bearer ").strip()
        else:
            # Slack reads a token from form fields, never from a JSON body.
            token = None if body_is_json else (str(token_param) if token_param else None)
        status, headers, body = call_method(
            self.server.workspace, self.server.faults, method, params, token
        )
        self._send(status, body, headers)

    def _upload_bytes(self, raw: bytes) -> bytes:
        """The upload URL takes the raw bytes (as slack_sdk sends them) or a multipart `file`."""
        if self.headers.get_content_type() == "multipart/form-data":
            fields = _multipart(self.headers.get("Content-Type", ""), raw)
            value = fields.get("file", b"")
            return value if isinstance(value, bytes) else str(value).encode()
        return raw

    def _download(self, team_and_file: str) -> None:
        ws = self.server.workspace
        authorized = self.headers.get("Authorization", "") == f"Bearer {ws.bot_token}"
        with ws.lock:
            team, _, file_id = team_and_file.partition("-")
            stored = ws.files.get(file_id)
            ws.downloads.append(
                {
                    "path": self.path,
                    "file_id": file_id,
                    "authorized": authorized,
                    "time": time.time(),
                }
            )
            ws.notify()
            if team != ws.team_id or stored is None or not stored.complete:
                self._send(404, b"Not Found", {"Content-Type": "text/plain"})
                return
            html = {"Content-Type": "text/html; charset=utf-8"}
            if not authorized or stored.download == "html":
                self._send(200, LOGIN_PAGE, html)
            elif stored.download == "redirect":
                location = f"http://{ws.foreign_host}/files/{stored.id}/{stored.name}"
                self._send(302, b"", {"Location": location})
            else:
                headers = {
                    "Content-Type": stored.mimetype,
                    "Content-Disposition": f'attachment; filename="{stored.name}"',
                }
                self._send(200, stored.content, headers)


class _ForeignHandler(_Handler):
    """Another host: it records who came (and with which headers) and hands out the bytes."""

    def _route(self, verb: str) -> None:
        ws = self.server.workspace
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        with ws.lock:
            ws.foreign_requests.append(
                {"method": verb, "path": self.path, "headers": dict(self.headers.items())}
            )
            ws.notify()
            stored = ws.files.get(parts[1]) if len(parts) >= 2 else None
            content = stored.content if stored is not None else b""
        self._send(200, content, {"Content-Type": "application/octet-stream"})


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of concurrent clients (as Slack's and
    # OpenAI's real front ends absorb easily) would overflow it and wait a full second for the
    # kernel to retransmit the dropped connection attempts.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a stream read to `[DONE]` and closed, a test
        that stopped listening) is normal traffic, not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def __init__(self, workspace: Workspace, faults: Faults, *, foreign: bool = False) -> None:
        handler = _ForeignHandler if foreign else _Handler
        super().__init__(("127.0.0.1", 0), handler)
        self.workspace = workspace
        self.faults = faults
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
