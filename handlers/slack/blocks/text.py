"""Small text helpers every Slack renderer shares: escaping, numbers, money, cutting to size.

Everything a user wrote (file names, JSON keys, tool names, model suffixes, provider error
messages) reaches Slack through `escape_mrkdwn`, so a dataset cannot ping `<!channel>` or forge a
link just by being reported on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from handlers.common.money import format_usd

ELLIPSIS = "…"

_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ENTITY_REACH = len("&amp;")
_TOKEN_REACH = 120
"""How far back a cut may look for the start of a half-cut escape or Slack token."""


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack gives control meaning to: `&`, `<` and `>`.

    Slack has no escape for `*`, `_` or backticks; those can only change how text looks, while
    `<...>` can mention, link or notify.
    """
    return text.translate(_ESCAPES)


def one_line(text: str) -> str:
    """Whitespace runs (newlines, tabs) as one space: user data must not start its own bullet."""
    return " ".join(text.split())


def code(text: str) -> str:
    """Escaped text in a code span; text holding a backtick is left plain, as it would break out."""
    escaped = escape_mrkdwn(text)
    if not text or "`" in text:
        return escaped
    return f"`{escaped}`"


def mention(user_id: str) -> str:
    """`<@U123>` for a Slack user id, anything else (a CLI user, a name) as escaped text."""
    if _SLACK_USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape_mrkdwn(user_id)


def usd(value: Decimal | float) -> str:
    """`format_usd` ready for mrkdwn: `<$0.01` holds a `<`, which Slack reads as a token start."""
    return escape_mrkdwn(format_usd(value))


def format_tokens(n: int) -> str:
    """Exact below 10,000 (`9,876`), then three significant digits: `12.3k`, `4.56M`, `1.2B`."""
    if abs(n) < 10_000:
        return f"{n:,}"
    value = float(n)
    for unit in ("k", "M", "B", "T"):
        value /= 1000
        shown = float(f"{value:.3g}")
        if abs(shown) < 1000 or unit == "T":
            return f"{shown:g}{unit}" if abs(shown) < 1e6 else f"{shown:,.0f}{unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def format_count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 error`, `2 errors`, `1,234 examples`."""
    word = noun if n == 1 else (plural or f"{noun}s")
    return f"{n:,} {word}"


def slack_date(moment: datetime) -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback for old clients.

    A naive datetime is taken as UTC, which is how storage keeps them.
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, ending in `…` when cut.

    Never cuts through an escape (`&amp;`) or a Slack token (`<@U1>`, `<!date^…>`): half of one
    would show as garbage or, worse, swallow the text after it.
    """
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    cut = text[: limit - len(ELLIPSIS)]
    for opener, closer, reach in (("&", ";", _ENTITY_REACH), ("<", ">", _TOKEN_REACH)):
        start = cut.rfind(opener, max(0, len(cut) - reach))
        if start != -1 and closer not in cut[start:]:
            cut = cut[:start]
    return cut.rstrip() + ELLIPSIS
