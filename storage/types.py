"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zone support: a `DateTime(timezone=True)` column hands back naive datetimes
there and aware ones on PostgreSQL, so code comparing a stored time with `datetime.now(UTC)`
would work in production and crash in tests (or the other way round). `UTCDateTime` stores UTC
and always returns aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def utcnow() -> datetime:
    """The current time as an aware UTC datetime: the only kind the database columns accept."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that only accepts aware datetimes and always returns aware UTC ones.

    Naive datetimes are refused rather than guessed at: a naive local time silently stored as UTC
    is a bug that surfaces hours later as a wrong "finished 3 h ago".
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (e.g. in UTC)")
        as_utc = value.astimezone(UTC)
        # SQLite's DATETIME keeps no offset: store the UTC wall time.
        return as_utc.replace(tzinfo=None) if dialect.name == "sqlite" else as_utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_column_type(*, none_as_null: bool = False) -> TypeEngine[Any]:
    """JSON everywhere, JSONB on PostgreSQL (indexable, compact, compared by value)."""
    return JSON(none_as_null=none_as_null).with_variant(
        JSONB(none_as_null=none_as_null), "postgresql"
    )
