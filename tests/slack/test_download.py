"""Downloading a shared file: only from Slack's host, never via a redirect, never too much."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from handlers.common.file_hosts import host_allowed
from handlers.slack.download import DownloadError, download

TOKEN = "xoxb-download-test"
MIB = 1 << 20
CONTENT = b'{"messages": [{"role": "user", "content": "hi"}]}\n' * 100


@dataclass
class FileHost:
    """A small HTTP server standing in for Slack's file host; records every request."""

    server: ThreadingHTTPServer
    redirect_to: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    streamed: int = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"


def serve() -> FileHost:
    box: dict[str, FileHost] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # bodies end when the connection closes: no length needed

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            host = box["host"]
            host.requests.append((self.path, dict(self.headers.items())))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.answer(403, b"no token", "text/plain")
            elif self.path == "/file":
                self.answer(200, CONTENT, "application/octet-stream", length=True)
            elif self.path == "/exact":
                self.answer(200, b"x" * MIB, "application/octet-stream")
            elif self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", host.redirect_to)
                self.end_headers()
            elif self.path == "/login":
                self.answer(200, b"<html><body>Sign in</body></html>", "text/html; charset=utf-8")
            elif self.path == "/big":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                chunk = b"y" * (64 << 10)
                try:
                    for _ in range(48):  # 3 MiB, no Content-Length: only streaming can tell
                        self.wfile.write(chunk)
                        host.streamed += len(chunk)
                except OSError:
                    pass  # the client hung up, as it should
            elif self.path == "/broken":
                self.answer(500, b"oops", "text/plain")
            else:
                self.answer(404, b"not found", "text/plain")

        def answer(self, status: int, body: bytes, content_type: str, length: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box["host"] = FileHost(server)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return box["host"]


@pytest.fixture
def slack_files() -> Iterator[FileHost]:
    host = serve()
    yield host
    host.server.shutdown()
    host.server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[FileHost]:
    host = serve()
    yield host
    host.server.shutdown()
    host.server.server_close()


def fetch(host: FileHost, path: str, target: Path, *, max_bytes: int = MIB) -> int:
    return download(host.url(path), TOKEN, target, hosts=[host.host], max_bytes=max_bytes)


def test_a_file_from_the_allowed_host_is_saved_with_the_bot_token(
    slack_files: FileHost, tmp_path: Path
) -> None:
    target = tmp_path / "train.jsonl"

    written = fetch(slack_files, "/file", target)

    assert written == len(CONTENT)
    assert target.read_bytes() == CONTENT
    [(path, headers)] = slack_files.requests
    assert path == "/file"
    assert headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_file_exactly_at_the_limit_is_accepted(slack_files: FileHost, tmp_path: Path) -> None:
    assert fetch(slack_files, "/exact", tmp_path / "f", max_bytes=MIB) == MIB


@pytest.mark.parametrize(
    "hosts",
    [
        pytest.param(["127.0.0.1:1"], id="same-address-other-port"),
        pytest.param(["files.slack.com"], id="slack-only"),
        pytest.param([], id="no-hosts"),
    ],
)
def test_a_host_not_listed_is_refused_before_any_request(
    slack_files: FileHost, tmp_path: Path, hosts: list[str]
) -> None:
    with pytest.raises(DownloadError, match="not a Slack file host"):
        download(slack_files.url("/file"), TOKEN, tmp_path / "f", hosts=hosts, max_bytes=MIB)
    assert slack_files.requests == []
    assert not (tmp_path / "f").exists()


def test_a_redirect_is_refused_and_the_token_never_leaves(
    slack_files: FileHost, elsewhere: FileHost, tmp_path: Path
) -> None:
    slack_files.redirect_to = elsewhere.url("/file")

    with pytest.raises(DownloadError, match="redirected"):
        fetch(slack_files, "/redirect", tmp_path / "f")

    assert [path for path, _ in slack_files.requests] == ["/redirect"]
    assert elsewhere.requests == []


def test_a_login_page_means_the_app_lacks_files_read(slack_files: FileHost, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as caught:
        fetch(slack_files, "/login", tmp_path / "f")
    assert "files:read" in str(caught.value)
    assert "login page" in str(caught.value)


def test_the_size_limit_is_enforced_while_streaming(slack_files: FileHost, tmp_path: Path) -> None:
    target = tmp_path / "f"

    with pytest.raises(DownloadError, match="larger than the 1 MB limit"):
        fetch(slack_files, "/big", target, max_bytes=MIB)

    assert target.stat().st_size <= MIB, "nothing past the limit is written"


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/broken", 500)])
def test_a_status_other_than_200_is_an_error(
    slack_files: FileHost, tmp_path: Path, path: str, status: int
) -> None:
    with pytest.raises(DownloadError, match=f"Slack answered {status}"):
        fetch(slack_files, path, tmp_path / "f")


def test_an_unreachable_host_is_a_download_error(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="the download failed"):
        download(
            f"http://127.0.0.1:{port}/file",
            TOKEN,
            tmp_path / "f",
            hosts=[f"127.0.0.1:{port}"],
            max_bytes=MIB,
            timeout=2,
        )


@pytest.mark.parametrize(
    ("url", "hosts", "allowed"),
    [
        ("https://files.slack.com/files-pri/T1-F1/x.jsonl", ["files.slack.com"], True),
        ("https://FILES.SLACK.COM/files-pri/x", ["files.slack.com"], True),
        ("http://files.slack.com/files-pri/x", ["files.slack.com"], False),
        ("https://files.slack.com.evil.com/x", ["files.slack.com"], False),
        ("https://evil.com/files.slack.com/x", ["files.slack.com"], False),
        ("https://files.slack.com@evil.com/x", ["files.slack.com"], False),
        ("https://files.slack.com:8443/x", ["files.slack.com:8443"], True),
        ("ftp://files.slack.com/x", ["files.slack.com"], False),
        ("http://127.0.0.1:9/x", ["127.0.0.1:9"], True),
        ("http://127.0.0.1:9/x", ["127.0.0.1:8"], False),
        ("", ["files.slack.com"], False),
    ],
)
def test_host_allowed(url: str, hosts: list[str], allowed: bool) -> None:
    assert host_allowed(url, hosts) is allowed
