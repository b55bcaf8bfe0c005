"""Engines and sessions configured the same way for every caller.

The SQLite settings matter for correctness, not speed alone: without `PRAGMA foreign_keys` SQLite
ignores every foreign key (and so every ON DELETE CASCADE), and without WAL and a busy timeout the
web workers and the scheduler would fail with "database is locked" instead of waiting their turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000

# Bare PostgreSQL URLs select psycopg2 in SQLAlchemy; psycopg 3 is the driver we ship.
_POSTGRES_ALIASES = frozenset({"postgresql", "postgres"})


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL, pointing bare `postgresql://` (and `postgres://`) at psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **engine_options: Any) -> Engine:
    """An engine with the settings tunebot relies on; extra options go to `create_engine`."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _create_sqlite_parent_dir(parsed)
        engine = create_engine(parsed, **engine_options)
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    if backend == "postgresql":
        engine_options.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **engine_options)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit, e.g. to render a reply from them."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back if it raises, always close."""
    with factory.begin() as session:
        yield session


def _create_sqlite_parent_dir(url: URL) -> None:
    """SQLite creates the file but not its folder; a fresh install should not fail on that."""
    database = url.database
    if not database or database == ":memory:" or url.query.get("uri") in ("true", "1"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # WAL lets readers proceed while one writer writes; NORMAL sync is safe with WAL.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
