"""Which attachments are datasets, and fetching one from Discord's CDN safely.

Only from DISCORD_FILE_HOSTS, over HTTPS (or a local test host), never following a redirect,
never taking an HTML page (an edge's error or block page) for the file, with the size cap
enforced while streaming. Discord's attachment URLs are signed and need no
token, so none is sent: the bot token never leaves for a file host.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx

from handlers.common.file_hosts import host_allowed

DATASET_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".xlsx")
CHUNK = 1 << 16


class DownloadError(Exception):
    """The file could not be fetched; the message is fit to show the person who posted it."""


def is_dataset_name(name: str) -> bool:
    return name.lower().endswith(DATASET_SUFFIXES)


def download(
    url: str, target: Path, *, hosts: list[str], max_bytes: int, client: httpx.Client
) -> int:
    """Stream `url` into `target`; return the bytes written."""
    if not host_allowed(url, hosts):
        host = urlsplit(url).netloc
        raise DownloadError(f"refused to download from {host!r}: not a Discord file host")
    written = 0
    try:
        with (
            client.stream("GET", url, timeout=60, follow_redirects=False) as response,
            target.open("wb") as out,
        ):
            if response.is_redirect:
                raise DownloadError("the file host answered with a redirect, which is not followed")
            if response.status_code != 200:
                raise DownloadError(f"the file host answered {response.status_code}")
            if "text/html" in response.headers.get("content-type", ""):
                raise DownloadError(
                    "the file host answered with a web page instead of the file; post it again"
                )
            for chunk in response.iter_bytes(CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise DownloadError(f"the file is over the {max_bytes >> 20} MB limit")
                out.write(chunk)
    except httpx.HTTPError as exc:
        raise DownloadError(f"the download failed ({type(exc).__name__})") from exc
    return written
