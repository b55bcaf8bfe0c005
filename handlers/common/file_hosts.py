"""Which hosts a front end downloads people's files from: the one rule both front ends apply
before any byte is fetched, so a file URL pointing elsewhere never leaves the process."""

from __future__ import annotations

from urllib.parse import urlsplit

LOCAL_HOSTS = ("127.0.0.1", "localhost")
"""Plain HTTP is allowed only here (a test's emulator); everything else must be HTTPS."""


def host_allowed(url: str, hosts: list[str]) -> bool:
    """True when the URL's host (or host:port) is one of `hosts`, over HTTPS or a local test."""
    parts = urlsplit(url)
    hostname = (parts.hostname or "").lower()
    netloc = f"{hostname}:{parts.port}" if parts.port else hostname
    if parts.scheme != "https" and hostname not in LOCAL_HOSTS:
        return False
    return hostname in hosts or netloc in hosts
