"""Run Alembic migrations from inside the process, without an alembic.ini.

The configuration is built in code so that the CLI, the server's start-up check and the tests
all migrate exactly the same way, and the database URL is handed to env.py through the Config
object rather than a global, so one process can migrate several databases in turn.

Alembic keeps its `context` in a module global while a command runs: do not migrate from
several threads at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from storage.db import make_engine, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x74756E65626F74
"""The PostgreSQL advisory lock that replicas migrating at once take turns on ("tunebot")."""


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic Config for `url`; env.py reads the URL from `config.attributes["url"]`."""
    config = Config()
    # ConfigParser treats "%" as interpolation, hence the escaping; the URL never goes through it.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.attributes["url"] = normalize_url(url)
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (by default the newest).

    Every server migrates at start, so replicas started together would race to create the same
    tables; on PostgreSQL they take turns, and the later ones find nothing left to do.
    """
    with _migrations_serialized(url):
        command.upgrade(alembic_config(url), revision)


@contextmanager
def _migrations_serialized(url: str | URL) -> Iterator[None]:
    """Hold a session-level advisory lock on its own connection while the block runs."""
    if normalize_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
    finally:
        engine.dispose()


def downgrade(url: str | URL, revision: str) -> None:
    """Take the database at `url` back to `revision` ("base" removes every table)."""
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str | URL) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision the code knows, to tell whether a database is behind."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head
