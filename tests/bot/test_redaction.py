"""Secrets never reach a log line: in messages, in arguments, in tracebacks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.redaction import MARK, RedactingFilter, install_redaction

OPENAI_KEY = "sk-proj-Zq8vR2mT5xW9yB3nL6kP1cF4hJ7dG0sA-_aE2rT6yU9iO3pQ"
LEGACY_KEY = "sk-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4"
BOT_TOKEN = "xoxb-2718281828-3141592653589-Kq7Lw2Xe9Rt4Yu6Io1Pa3Sd"
USER_TOKEN = "xoxp-2718281828-1618033988-3141592653589-8f3b6c1d2e4a5f60718293a4b5c6d7e8"
APP_TOKEN = "xapp-1-A0123456789-1234567890123-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
WEBHOOK_SECRET = "whsec_3q2+7w==Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0"
SIGNING_SECRET = "8f3b6c1d2e4a5f60718293a4b5c6d7e8"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler has the filter, as `install_redaction` sets it up, and its output."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter([SIGNING_SECRET, "short"]))
    logger = logging.getLogger(f"tests.redaction.{id(out)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, out
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        (OPENAI_KEY, "sk-proj-"),
        (LEGACY_KEY, "sk-"),
        ("sk-svcacct-Zq8vR2mT5xW9yB3nL6kP1cF4hJ7dG0sA", "sk-svcacct-"),
        (BOT_TOKEN, "xoxb-"),
        (USER_TOKEN, "xoxp-"),
        (APP_TOKEN, "xapp-"),
        (WEBHOOK_SECRET, "whsec_"),
        (SIGNING_SECRET, ""),
    ],
    ids=[
        "openai-project",
        "openai-legacy",
        "openai-service",
        "bot",
        "user",
        "app",
        "whsec",
        "conf",
    ],
)
def test_each_kind_of_secret_is_reduced_to_its_kind(logged, secret: str, shown: str):
    logger, out = logged

    logger.info(f"calling with {secret}, then stopping")

    assert out.getvalue() == f"INFO calling with {shown}{MARK}, then stopping\n"


def test_secrets_in_percent_arguments_are_masked(logged):
    logger, out = logged

    logger.warning("token %s refused by %s (key %r)", BOT_TOKEN, "slack", OPENAI_KEY)

    assert out.getvalue() == f"WARNING token xoxb-{MARK} refused by slack (key 'sk-proj-{MARK}')\n"


def test_a_secret_split_across_arguments_is_masked_once_whole(logged):
    logger, out = logged

    logger.info("key=%s%s;", OPENAI_KEY[:12], OPENAI_KEY[12:])
    logger.info("sk-%s", LEGACY_KEY.removeprefix("sk-"))

    assert out.getvalue() == f"INFO key=sk-proj-{MARK};\nINFO sk-{MARK}\n"


def test_bearer_headers_are_masked_in_any_spelling(logged):
    logger, out = logged

    logger.info("Authorization: Bearer %s", OPENAI_KEY)
    logger.info("headers: %s", {"Authorization": f"Bearer {BOT_TOKEN}"})
    logger.info("authorization: bearer abc.def-ghi_jkl~mno")

    assert out.getvalue().splitlines() == [
        f"INFO Authorization: Bearer sk-proj-{MARK}",
        f"INFO headers: {{'Authorization': 'Bearer xoxb-{MARK}'}}",
        f"INFO authorization: bearer {MARK}",
    ]


def test_passwords_in_urls_are_masked(logged):
    logger, out = logged

    logger.error("cannot connect to postgresql+psycopg://tunebot:hunter2-long@db:5432/tunebot")

    assert out.getvalue() == (
        f"ERROR cannot connect to postgresql+psycopg://tunebot:{MARK}@db:5432/tunebot\n"
    )


def test_a_traceback_whose_exception_holds_a_secret_is_masked(logged):
    logger, out = logged

    try:
        try:
            raise PermissionError(f"Incorrect API key provided: {OPENAI_KEY}.")
        except PermissionError as cause:
            raise RuntimeError(f"retrying with {BOT_TOKEN} failed") from cause
    except RuntimeError:
        logger.exception("the call failed")

    written = out.getvalue()
    assert OPENAI_KEY not in written and BOT_TOKEN not in written
    assert f"PermissionError: Incorrect API key provided: sk-proj-{MARK}." in written
    assert f"RuntimeError: retrying with xoxb-{MARK} failed" in written
    assert "Traceback (most recent call last)" in written, "the traceback itself is kept"


def test_stack_info_is_masked(logged):
    logger, out = logged
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "here", None, None)
    record.stack_info = f'Stack (most recent call last):\n  login("{APP_TOKEN}")'

    logger.handle(record)

    assert APP_TOKEN not in out.getvalue() and f"xapp-{MARK}" in out.getvalue()


def test_harmless_text_that_resembles_a_secret_is_left_alone(logged):
    logger, out = logged
    harmless = [
        "task-1234567890abcdef ran",  # `sk-` inside a word
        "ask-questions-freely",
        "sk-short",
        "a short secret",  # shorter than a configured secret may be to be masked verbatim
        "using Bearer auth (see the docs)",
        "GET http://127.0.0.1:35829/slack/events",
        "xoxb- on its own",
    ]

    for text in harmless:
        logger.info(text)

    assert out.getvalue().splitlines() == [f"INFO {text}" for text in harmless]


def test_redacting_twice_changes_nothing_more():
    redacting = RedactingFilter([SIGNING_SECRET])
    text = (
        f"Authorization: Bearer {OPENAI_KEY} {BOT_TOKEN} {SIGNING_SECRET} "
        f"Bearer {APP_TOKEN} https://u:p4ssw0rd@h/x {WEBHOOK_SECRET}"
    )

    once = redacting.redact(text)

    assert redacting.redact(once) == once
    assert once == (
        f"Authorization: Bearer sk-proj-{MARK} xoxb-{MARK} {MARK} "
        f"Bearer xapp-{MARK} https://u:{MARK}@h/x whsec_{MARK}"
    )


def test_a_broken_format_string_is_still_logged_without_its_secret(logged):
    logger, out = logged

    logger.info("key %s and %s", OPENAI_KEY)  # one argument short

    assert OPENAI_KEY not in out.getvalue()
    assert f"sk-proj-{MARK}" in out.getvalue()


@pytest.fixture
def root_handlers() -> Iterator[list[io.StringIO]]:
    """Two extra handlers on the root logger, removed (with any filter) afterwards."""
    root = logging.getLogger()
    outputs = [io.StringIO(), io.StringIO()]
    handlers = [logging.StreamHandler(out) for out in outputs]
    level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield outputs
    finally:
        for handler in root.handlers:
            for found in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
                handler.removeFilter(found)
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


def test_install_redaction_covers_every_root_handler_and_records_from_any_logger(root_handlers):
    install_redaction([SIGNING_SECRET, None])
    install_redaction([SIGNING_SECRET])  # again: still one filter per handler

    logging.getLogger("uvicorn.error").info("signing with %s", SIGNING_SECRET)
    logging.getLogger("slack_sdk.web").info("token %s", BOT_TOKEN)

    for out in root_handlers:
        assert out.getvalue() == f"signing with {MARK}\ntoken xoxb-{MARK}\n"
    for handler in logging.getLogger().handlers:
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
