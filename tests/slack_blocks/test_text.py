from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.slack.blocks.text import (
    code,
    escape_mrkdwn,
    format_count,
    format_tokens,
    mention,
    one_line,
    slack_date,
    truncate,
    usd,
)
from tests.slack_blocks.checks import assert_safe_mrkdwn


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U1>", "&lt;@U1&gt;"),
        ("R&D", "R&amp;D"),
        ("&amp;", "&amp;amp;"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
        ("plain *bold* _it_", "plain *bold* _it_"),
    ],
)
def test_escape_mrkdwn(raw, escaped):
    assert escape_mrkdwn(raw) == escaped


@given(st.text())
def test_escaped_text_is_never_live_markup(text):
    assert_safe_mrkdwn(escape_mrkdwn(text))


def test_code_spans_escape_and_refuse_backticks():
    assert code("ds-7") == "`ds-7`"
    assert code("<!here>") == "`&lt;!here&gt;`"
    assert code("a`b") == "a`b"
    assert code("") == ""


def test_mention_only_for_slack_user_ids():
    assert mention("U0123ABC") == "<@U0123ABC>"
    assert mention("W0123ABC") == "<@W0123ABC>"
    assert mention("cli") == "cli"
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert mention("U1> <!channel") == "U1&gt; &lt;!channel"


def test_one_line_flattens_whitespace():
    assert one_line("a\n• b\t c  ") == "a • b c"


def test_usd_is_escaped_for_mrkdwn():
    assert usd(0.001) == "&lt;$0.01"
    assert usd(3) == "$3.00"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (999, "999"),
        (9_999, "9,999"),
        (10_000, "10k"),
        (12_345, "12.3k"),
        (123_456, "123k"),
        (999_999, "1M"),
        (1_234_567, "1.23M"),
        (4_560_000_000, "4.56B"),
        (7_000_000_000_000, "7T"),
    ],
)
def test_format_tokens(n, text):
    assert format_tokens(n) == text


def test_format_count():
    assert format_count(1, "error") == "1 error"
    assert format_count(1234, "example") == "1,234 examples"
    assert format_count(0, "more finding") == "0 more findings"


def test_slack_date_shows_local_time_with_utc_fallback():
    moment = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    assert slack_date(moment) == (
        f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|2024-05-01 12:30 UTC>"
    )
    naive = datetime(2024, 5, 1, 12, 30)
    assert slack_date(naive) == slack_date(naive.replace(tzinfo=UTC))


def test_truncate_keeps_short_text_and_marks_a_cut():
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"
    assert truncate("a" * 20, 10) == "a" * 9 + "…"
    assert truncate("abc", 1) == "…"


def test_truncate_never_splits_an_escape_or_a_token():
    escaped = escape_mrkdwn("x" * 8 + "&&&")
    for limit in range(8, len(escaped)):
        cut = truncate(escaped, limit)
        assert len(cut) <= limit
        assert_safe_mrkdwn(cut)
    text = "started by <@U0123ABC> today"
    for limit in range(12, len(text)):
        cut = truncate(text, limit)
        assert "<@" not in cut or "<@U0123ABC>" in cut


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_truncate_is_a_bounded_prefix(text, limit):
    cut = truncate(text, limit)
    assert len(cut) <= limit
    assert text.startswith(cut.removesuffix("…").rstrip())
