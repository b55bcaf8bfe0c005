"""The HTTP layer: a threading HTTP/1.1 server that turns sockets into `Request`s and back.

Connections are tracked so `stop()` can close keep-alive sockets that clients still hold,
which is what lets a test's emulator shut down promptly and leave no threads behind.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .app import Application
from .httpio import BytesResponse, JsonResponse, Request, Response, StreamResponse, read_body


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of concurrent clients (as Slack's and
    # OpenAI's real front ends absorb easily) would overflow it and wait a full second for the
    # kernel to retransmit the dropped connection attempts.
    request_queue_size = 128
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a stream read to `[DONE]` and closed, a test
        that stopped listening) is normal traffic, not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], app: Application) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log on the emulator is the record tests look at."""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = read_body(self.rfile, self.headers)
        request = Request(
            method=self.command,
            path=unquote(url.path),
            query=parse_qs(url.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            query_string=unquote(url.query),
        )
        response = self.server.app.handle(request)
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _write(self, response: Response) -> None:
        if isinstance(response, StreamResponse):
            self._write_stream(response)
            return
        if isinstance(response, JsonResponse):
            payload = json.dumps(response.body).encode()
            status, content_type, headers = response.status, "application/json", response.headers
        else:
            assert isinstance(response, BytesResponse)
            payload, status = response.content, response.status
            content_type, headers = response.content_type, {}
        self.send_response(status)
        self._common_headers(content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _write_stream(self, response: StreamResponse) -> None:
        self.send_response(200)
        self._common_headers(response.content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in response.chunks:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        if self.server.app.state.stopping.is_set():
            self.close_connection = True  # cut short: no terminating chunk, the client sees it
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _common_headers(self, content_type: str) -> None:
        app = self.server.app
        with app.state.lock:
            request_id = app.state.new_id("req_", 32)
        self.send_header("Content-Type", content_type)
        self.send_header("x-request-id", request_id)
        self.send_header("openai-organization", app.state.config.organization)
        self.send_header("openai-version", "2020-10-01")
        self.send_header("openai-processing-ms", "1")
