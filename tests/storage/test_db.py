"""Engine and session helpers: URL handling, SQLite settings, units of work."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from storage.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    make_engine,
    make_session_factory,
    normalize_url,
    session_scope,
)
from storage.models import Dataset
from tests.storage.builders import new_dataset


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_bare_postgresql_urls_use_psycopg_3(scheme):
    url = f"{scheme}://bot:s3cr%40t@db.internal:6543/tunebot?sslmode=require"

    engine = make_engine(url)  # create_engine does not connect yet

    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.dialect.driver == "psycopg"
    assert engine.url.password == "s3cr@t"
    assert (engine.url.host, engine.url.port, engine.url.database) == (
        "db.internal",
        6543,
        "tunebot",
    )
    assert engine.url.query == {"sslmode": "require"}
    assert engine.pool._pre_ping  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://u@h/d", "sqlite:///relative.db", "sqlite://"]
)
def test_other_urls_are_left_as_they_are(url):
    assert normalize_url(url) == make_url(url)


def test_a_bare_postgresql_url_really_connects(postgresql_url):
    bare = make_url(postgresql_url).set(drivername="postgresql")
    engine = make_engine(bare.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_database()")) == bare.database
    finally:
        engine.dispose()


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
                assert busy_timeout == SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_a_sqlite_file_gets_its_folder_created(tmp_path: Path):
    path = tmp_path / "var" / "lib" / "tunebot.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        engine.dispose()
    assert path.is_file()


def test_in_memory_sqlite_works_and_touches_no_disk(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = make_engine("sqlite://")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
    assert list(tmp_path.iterdir()) == []


def test_session_scope_commits_when_the_block_succeeds(session_factory):
    with session_scope(session_factory) as session:
        dataset = new_dataset(file_name="kept.jsonl")
        session.add(dataset)

    # expire_on_commit=False: the object is still readable once the session is gone.
    assert dataset.file_name == "kept.jsonl"
    with session_factory() as session:
        assert session.scalars(select(Dataset.file_name)).all() == ["kept.jsonl"]


def test_session_scope_rolls_back_when_the_block_raises(session_factory):
    with pytest.raises(RuntimeError, match="boom"), session_scope(session_factory) as session:
        session.add(new_dataset())
        session.flush()
        raise RuntimeError("boom")

    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) == 0


def test_session_factory_binds_to_its_engine(db_engine):
    factory = make_session_factory(db_engine)
    with factory() as session:
        assert session.get_bind() is db_engine
