"""The migrated OAuth tables are the ones slack_sdk's SQLAlchemy stores read and write, and
the stores work on them as migrated (nobody calls `create_tables()`)."""

from __future__ import annotations

import time

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, MetaData, Table

from storage.installations import slack_bots, slack_installations, slack_oauth_states


def _shape(table: Table) -> tuple[list[tuple[str, str, bool, bool]], list[tuple[str, list[str]]]]:
    columns = [
        (column.name, repr(column.type), bool(column.nullable), bool(column.primary_key))
        for column in table.columns
    ]
    indexes = sorted((str(i.name), [c.name for c in i.columns]) for i in table.indexes)
    return columns, indexes


@pytest.mark.parametrize(
    ("ours", "build"),
    [
        (
            slack_installations,
            lambda m: SQLAlchemyInstallationStore.build_installations_table(
                m, "slack_installations"
            ),
        ),
        (slack_bots, lambda m: SQLAlchemyInstallationStore.build_bots_table(m, "slack_bots")),
        (
            slack_oauth_states,
            lambda m: SQLAlchemyOAuthStateStore.build_oauth_states_table(m, "slack_oauth_states"),
        ),
    ],
)
def test_our_tables_have_the_columns_and_indexes_the_sdk_stores_define(ours, build):
    assert _shape(ours) == _shape(build(MetaData()))


def _installation(team: str, token: str, installed_at: float) -> Installation:
    return Installation(
        app_id="A0APP",
        team_id=team,
        team_name=f"team {team}",
        bot_token=token,
        bot_id=f"B{team}",
        bot_user_id=f"U{team}",
        bot_scopes=["chat:write"],
        user_id="U0INSTALLER",
        installed_at=installed_at,
    )


def test_the_installation_store_saves_finds_and_deletes_on_the_migrated_tables(
    db_engine: Engine,
):
    store = SQLAlchemyInstallationStore(client_id="111.222", engine=db_engine)
    now = time.time()
    store.save(_installation("T001", "xoxb-one-old", now - 60))
    store.save(_installation("T001", "xoxb-one-new", now))
    store.save(_installation("T002", "xoxb-two", now))

    newest = store.find_bot(enterprise_id=None, team_id="T001")
    assert newest is not None and newest.bot_token == "xoxb-one-new"

    store.delete_all(enterprise_id=None, team_id="T001")

    assert store.find_bot(enterprise_id=None, team_id="T001") is None
    other = store.find_bot(enterprise_id=None, team_id="T002")
    assert other is not None and other.bot_token == "xoxb-two"


def test_an_oauth_state_is_consumed_once_and_a_made_up_one_never(db_engine: Engine):
    states = SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=db_engine)
    issued = states.issue()

    assert states.consume(issued) is True
    assert states.consume(issued) is False
    assert states.consume("made-up-state") is False
