"""Keeping credentials out of the log.

A token in a log line travels wherever logs go (terminal scrollback, a log service, a pasted bug
report) and outlives any rotation of the token itself. Secrets reach log lines by accident: an
error body that echoes the key a proxy was sent, a request's headers in a traceback, a person
pasting a key into chat. So every record is redacted on its way out, after it is formatted
(a key split across two `%s` arguments is whole only then), traceback included.

What is kept of a secret is its kind (`sk-proj-…[redacted]`, `xoxb-…[redacted]`), enough to tell
which credential was involved without enough to use it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from finetuning.redaction import MARK, Redactor

__all__ = ["MARK", "RedactingFilter", "install_redaction"]


class RedactingFilter(logging.Filter):
    """Rewrites each record's message and traceback with secrets masked (see `Redactor`);
    never drops a record."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._redactor = Redactor(secrets)

    def redact(self, text: str) -> str:
        return self._redactor.redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what was logged, without the secrets
            message = f"{record.msg} (arguments: {record.args!r})"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # What the handler's formatter would render, rendered now so it can be redacted;
            # formatters reuse `exc_text` when it is set.
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


def install_redaction(secrets: Iterable[str | None] = ()) -> RedactingFilter:
    """Put one redacting filter on every handler of the root logger (call after configuring
    logging); `secrets` are this process's credentials, masked wherever they appear.

    On the handlers, not the logger: a logger's own filters do not see records propagated from
    other loggers. Calling it again replaces the filter rather than stacking a second one.
    """
    redacting = RedactingFilter(secrets)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redacting)
    return redacting
