"""`SlackClients`: one workspace's work is done with that workspace's bot token, and a workspace
that removed the app is refused clearly instead of being called with a dead token."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine

from finetuning.tasks import AbandonTaskError
from handlers.slack.clients import SlackClients, WorkspaceNotInstalledError
from handlers.slack.tasks.slack_calls import slack_transient_as_retry
from tests.emulators.slack_emulator import SlackEmulator

API = "http://127.0.0.1:9/api/"
"""Nothing listens here: building a client must not call Slack."""


def install(store: SQLAlchemyInstallationStore, team: str, token: str) -> None:
    store.save(
        Installation(
            app_id="A0APP",
            team_id=team,
            bot_token=token,
            bot_id=f"B{team}",
            bot_user_id=f"U{team}",
            bot_scopes=["chat:write"],
            user_id="U0INSTALLER",
            installed_at=time.time(),
        )
    )


@pytest.fixture
def store(db_engine: Engine) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(client_id="111.222", engine=db_engine)


def test_one_bot_token_serves_every_team_with_one_client() -> None:
    clients = SlackClients(API, token="xoxb-single")

    first, second = clients.for_team("T001"), clients.for_team("T002")

    assert first is second is clients.base
    assert first.token == "xoxb-single" and first.base_url == API
    assert clients.token_for("T003") == "xoxb-single"
    assert clients.installations is None


def test_installed_workspaces_each_get_a_client_with_their_own_token(
    store: SQLAlchemyInstallationStore,
) -> None:
    install(store, "T001", "xoxb-one")
    install(store, "T002", "xoxb-two")
    clients = SlackClients(API, installations=store)

    one, two = clients.for_team("T001"), clients.for_team("T002")

    assert (one.token, two.token) == ("xoxb-one", "xoxb-two")
    assert clients.for_team("T001") is one, "one client per token, kept"
    assert clients.cached == 2
    assert clients.base.token is None, "Bolt's base client carries no workspace's token"


def test_a_workspace_never_installed_is_refused_by_name(store: SQLAlchemyInstallationStore) -> None:
    clients = SlackClients(API, installations=store)

    with pytest.raises(WorkspaceNotInstalledError, match="T404") as refused:
        clients.for_team("T404")

    assert isinstance(refused.value, AbandonTaskError), "a task for it ends, not retries"
    with pytest.raises(WorkspaceNotInstalledError):
        clients.for_team("")


def test_an_uninstalled_workspace_is_refused_and_its_client_dropped(
    store: SQLAlchemyInstallationStore,
) -> None:
    install(store, "T001", "xoxb-one")
    install(store, "T002", "xoxb-two")
    clients = SlackClients(API, installations=store)
    clients.for_team("T001")
    clients.for_team("T002")

    store.delete_all(enterprise_id=None, team_id="T002")
    clients.forget("T002")

    assert clients.cached == 1
    assert clients.for_team("T001").token == "xoxb-one"
    with pytest.raises(WorkspaceNotInstalledError, match="T002"):
        clients.for_team("T002")


def test_an_uninstall_seen_by_another_replica_takes_effect_here_at_once(
    store: SQLAlchemyInstallationStore, db_engine: Engine
) -> None:
    install(store, "T002", "xoxb-two")
    here = SlackClients(API, installations=store)
    here.for_team("T002")
    elsewhere = SQLAlchemyInstallationStore(client_id="111.222", engine=db_engine)

    elsewhere.delete_all(enterprise_id=None, team_id="T002")  # no forget() in this process

    with pytest.raises(WorkspaceNotInstalledError):
        here.for_team("T002")


def test_a_reinstall_with_a_new_token_replaces_the_old_client(
    store: SQLAlchemyInstallationStore,
) -> None:
    install(store, "T001", "xoxb-old")
    clients = SlackClients(API, installations=store)
    old = clients.for_team("T001")
    time.sleep(0.01)  # the store keeps the newest installation
    install(store, "T001", "xoxb-new")

    new = clients.for_team("T001")

    assert new.token == "xoxb-new" and new is not old
    assert clients.cached == 1


@pytest.mark.parametrize("given", [{}, {"token": "xoxb-1", "installations": object()}])
def test_exactly_one_source_of_tokens_is_required(given: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="either one bot token or an installation store"):
        SlackClients(API, **given)  # type: ignore[arg-type]


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token="xoxb-live", team_id="T001") as emulator:
        yield emulator


def test_a_refused_token_in_a_task_abandons_it(slack: SlackEmulator) -> None:
    clients = SlackClients(slack.api_url, token="xoxb-not-this-workspaces")

    with (
        pytest.raises(WorkspaceNotInstalledError, match="invalid_auth") as refused,
        slack_transient_as_retry(),
    ):
        clients.for_team("T001").chat_postMessage(channel="C0GENERAL", text="hi")

    assert isinstance(refused.value.__cause__, SlackApiError)
