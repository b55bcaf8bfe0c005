"""The emulator's HTTP face: the Web API, the upload URL, the file host, response_urls and the
OAuth authorize page, for every workspace it hosts.

One loopback server answers all of them, so `file_host` is the API's own host:port, and a
second one stands in for "some other host" that a file download may be redirected to. Which
workspace a request is about comes from its token (the Web API), its path (files) or the id
in its URL (uploads, response_urls), as on Slack.
"""

from __future__ import annotations

import base64
import binascii
import html
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
from tests.emulators.slack.records import JsonDict
from tests.emulators.slack.response_urls import post_to_url
from tests.emulators.slack.tenants import Tenants
from tests.emulators.slack.web_api import call_method

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
        tenants = self.server.tenants
        if len(parts) == 2 and parts[0] == "api":
            self._api(parts[1], url.query, raw)
        elif verb == "GET" and parts == ["oauth", "v2", "authorize"]:
            self._authorize(url.query)
        elif verb == "POST" and len(parts) == 3 and parts[:2] == ["upload", "v1"]:
            ws = tenants.file_owner(ticket=parts[2])
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
            ws = tenants.file_owner(target=parts[1])
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
            self.server.tenants, method, params, token, self._client_auth(authorization)
        )
        self._send(status, body, headers)

    @staticmethod
    def _client_auth(authorization: str) -> tuple[str, str] | None:
        """The app's client id and secret from HTTP Basic auth (how slack_sdk sends them to
        oauth.v2.access), if that is what the header holds."""
        if not authorization.startswith("Basic "):
            return None
        try:
            decoded = base64.b64decode(authorization.removeprefix("Basic ").strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret

    def _authorize(self, query: str) -> None:
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        with self.server.tenants.lock:
            page = self.server.tenants.authorize(params)
        if page.location is not None:
            self._send(page.status, b"", {"Location": page.location})
            return
        body = f"<!DOCTYPE html><p>Slack could not install the app: {html.escape(str(page.error))}"
        self._send(page.status, body.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _upload_bytes(self, raw: bytes) -> bytes:
        """The upload URL takes the raw bytes (as slack_sdk sends them) or a multipart `file`."""
        if self.headers.get_content_type() == "multipart/form-data":
            fields = _multipart(self.headers.get("Content-Type", ""), raw)
            value = fields.get("file", b"")
            return value if isinstance(value, bytes) else str(value).encode()
        return raw

    def _download(self, team_and_file: str) -> None:
        tenants = self.server.tenants
        team, _, file_id = team_and_file.partition("-")
        ws = tenants.team(team) or tenants.primary
        with ws.lock:
            authorized = ws.installed and (
                self.headers.get("Authorization", "") == f"Bearer {ws.bot_token}"
            )
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
        tenants = self.server.tenants
        ws = tenants.primary
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        with ws.lock:
            ws.foreign_requests.append(
                {"method": verb, "path": self.path, "headers": dict(self.headers.items())}
            )
            ws.notify()
            file_id = parts[1] if len(parts) >= 2 else ""
            stored = next(
                (w.files[file_id] for w in tenants.workspaces.values() if file_id in w.files),
                None,
            )
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

    def __init__(self, tenants: Tenants, *, foreign: bool = False) -> None:
        handler = _ForeignHandler if foreign else _Handler
        super().__init__(("127.0.0.1", 0), handler)
        self.tenants = tenants
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
