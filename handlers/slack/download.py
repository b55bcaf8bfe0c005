"""Downloading a shared file from Slack, safely.

Only from the configured file hosts, never following a redirect (a redirect off Slack's host
would hand our bot token to whoever answers), with a size cap enforced while streaming, and with
Slack's habit of answering an unauthorised download with a 200 HTML login page turned into a
clear error.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx

from handlers.common.file_hosts import host_allowed

CHUNK = 1 << 16


class DownloadError(Exception):
    """The file could not be fetched; the message is fit to show the person who shared it."""


def download(
    url: str,
    token: str,
    target: Path,
    *,
    hosts: list[str],
    max_bytes: int,
    client: httpx.Client | None = None,
    timeout: float = 60,
) -> int:
    """Stream `url` into `target` with the bot token; return the bytes written.

    Pass a long-lived `client`: building one (and its TLS context) costs ~40 ms of CPU a call.
    """
    if not host_allowed(url, hosts):
        raise DownloadError(
            f"refused to download from {urlsplit(url).hostname!r}: not a Slack file host"
        )
    written = 0
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with (
            (client.stream if client is not None else httpx.stream)(
                "GET", url, headers=headers, timeout=timeout, follow_redirects=False
            ) as response,
            target.open("wb") as out,
        ):
            if response.is_redirect:
                raise DownloadError(
                    "Slack redirected the download elsewhere; refused (the token stays with Slack)"
                )
            if response.status_code != 200:
                raise DownloadError(f"Slack answered {response.status_code} to the download")
            if "text/html" in response.headers.get("content-type", ""):
                raise DownloadError(
                    "Slack sent a login page instead of the file: the app needs the files:read "
                    "scope (reinstall it from its settings page)"
                )
            for chunk in response.iter_bytes(CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise DownloadError(
                        f"the file is larger than the {max_bytes // (1 << 20)} MB limit"
                    )
                out.write(chunk)
    except httpx.HTTPError as exc:
        raise DownloadError(f"the download failed: {exc}") from exc
    return written
