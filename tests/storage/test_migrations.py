"""Migrations build exactly the schema the models describe, and can be undone and redone."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, inspect

from storage.db import make_engine
from storage.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from storage.models import Base

MODEL_TABLES = set(Base.metadata.tables)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _schema_differences(url: str, metadata: MetaData) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_a_new_database_has_no_revision(database_url):
    assert current_revision(database_url) is None
    assert _tables(database_url) == set()


def test_upgrade_then_downgrade_to_base_then_upgrade_again(database_url):
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    assert _tables(database_url) == MODEL_TABLES

    downgrade(database_url, "base")
    assert current_revision(database_url) is None
    assert _tables(database_url) == set()

    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    assert _schema_differences(database_url, Base.metadata) == []


def test_upgrading_an_up_to_date_database_changes_nothing(migrated_url):
    upgrade(migrated_url)
    assert current_revision(migrated_url) == head_revision()
    assert _tables(migrated_url) == MODEL_TABLES


def test_migrated_schema_matches_the_models(migrated_url):
    assert _schema_differences(migrated_url, Base.metadata) == []


def test_schema_comparison_notices_drift(migrated_url):
    drifted = MetaData(naming_convention=dict(Base.metadata.naming_convention))
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["jobs"].append_column(Column("priority", Integer, nullable=True))

    differences = _schema_differences(migrated_url, drifted)

    assert [(d[0], d[2], d[3].name) for d in differences] == [("add_column", "jobs", "priority")]


def test_each_call_migrates_the_database_it_is_given(tmp_path: Path):
    first = f"sqlite:///{tmp_path / 'first.db'}"
    second = f"sqlite:///{tmp_path / 'second.db'}"

    upgrade(first)
    assert current_revision(second) is None

    upgrade(second)
    downgrade(first, "base")
    assert current_revision(first) is None
    assert current_revision(second) == head_revision()


def test_a_caller_can_lend_its_own_connection(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
    finally:
        engine.dispose()
    assert current_revision(database_url) == head_revision()
    assert _tables(database_url) == MODEL_TABLES


def test_migrating_leaves_the_host_process_logging_alone(sqlite_url):
    existing = logging.getLogger("tunebot.test.existing")
    root_handlers = list(logging.getLogger().handlers)
    root_level = logging.getLogger().level

    upgrade(sqlite_url)

    assert not existing.disabled
    assert logging.getLogger().handlers == root_handlers
    assert logging.getLogger().level == root_level


def test_offline_mode_writes_postgresql_ddl_without_a_server():
    config = alembic_config("postgresql://nobody@127.0.0.1:1/none")
    config.output_buffer = io.StringIO()

    command.upgrade(config, "head", sql=True)

    sql = config.output_buffer.getvalue()
    assert "CREATE TABLE datasets" in sql
    assert "report JSONB NOT NULL" in sql
    assert "CONSTRAINT uq_jobs_idempotency_key UNIQUE (idempotency_key)" in sql
    assert "INSERT INTO alembic_version (version_num) VALUES ('0001')" in sql
