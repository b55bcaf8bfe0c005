"""Masking credentials in text that leaves the process: log lines, and error messages shown in chat.

A token in a log line or a chat message travels wherever those go (scrollback, a log service, a
pasted bug report) and outlives any rotation of the token itself. Secrets get there by accident:
an error body that echoes the key a proxy was sent, a request's headers in a traceback.

What is kept of a secret is its kind (`sk-proj-…[redacted]`, `xoxb-…[redacted]`), enough to tell
which credential was involved without enough to use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MARK = "…[redacted]"
MIN_LITERAL_CHARS = 8
"""Configured values shorter than this are not redacted verbatim: they would match words."""

_BODY = r"[A-Za-z0-9_*+/=-]{8,}+"
"""What follows a known prefix; possessive, so a redacted `sk-…[redacted]` never matches again."""
_PREFIX = r"sk-(?:proj-|svcacct-|admin-)?|xox[abeposr]-|xapp-|whsec_"
_PREFIXED = rf"(?<![A-Za-z0-9_-])(?P<prefix>{_PREFIX}){_BODY}"
_BEARER = r"(?P<bearer>\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+)(?P<token>[A-Za-z0-9._~+/=*-]{8,}+)(?!…)"
_URL_PASSWORD = r"(?P<userinfo>\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(?=@)"
_KIND = re.compile(rf"(?P<prefix>{_PREFIX}){_BODY}")


def _masked(token: str) -> str:
    """`token` reduced to its kind, when it has a recognisable one."""
    kind = _KIND.fullmatch(token)
    return f"{kind['prefix']}{MARK}" if kind else MARK


class Redactor:
    """Masks the shapes every key of a kind has, plus `secrets` verbatim: a Slack signing secret
    is 32 hex characters, like many harmless ids, so only knowing the value finds it."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        literals = sorted(
            {s for s in secrets if s and len(s) >= MIN_LITERAL_CHARS}, key=len, reverse=True
        )
        alternatives = [
            _BEARER,
            *(f"(?P<literal{i}>{re.escape(s)})" for i, s in enumerate(literals)),
        ]
        self._pattern = re.compile("|".join([*alternatives, _PREFIXED, _URL_PASSWORD]))

    def redact(self, text: str) -> str:
        return self._pattern.sub(self._replacement, text)

    @staticmethod
    def _replacement(match: re.Match[str]) -> str:
        if match["bearer"] is not None:
            return match["bearer"] + _masked(match["token"])
        if match["userinfo"] is not None:
            return match["userinfo"] + MARK
        return _masked(match.group(0))


KEY_SHAPES = Redactor()
"""Masks anything shaped like a credential; for text whose secrets the caller cannot know."""
