"""Who is an admin: the configured people, and Slack's own admins and owners, asked sparingly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from handlers.slack.admins import AdminDirectory
from handlers.slack.clients import SlackClients
from tests.emulators.slack_emulator import ADMIN, ALICE, BOB, OWNER, SlackEmulator

TEAM = "T001"
BOSS = "U0BOSS"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token="xoxb-admins", team_id=TEAM) as emulator:
        yield emulator


@pytest.fixture
def client(slack: SlackEmulator) -> SlackClients:
    return SlackClients(slack.api_url, token="xoxb-admins")


def asked(slack: SlackEmulator) -> list[str]:
    return [call.params.get("user", "") for call in slack.calls_to("users.info")]


def test_workspace_admins_and_owners_are_admins_and_others_are_not(
    slack: SlackEmulator, client: SlackClients
) -> None:
    admins = AdminDirectory(client)

    assert admins.is_admin(TEAM, ADMIN)
    assert admins.is_admin(TEAM, OWNER)
    assert not admins.is_admin(TEAM, ALICE)
    assert not admins.is_admin(TEAM, "U0NOBODY"), "a user Slack does not know is no admin"
    assert not admins.is_admin(TEAM, "")


def test_configured_admins_need_no_call_to_slack(
    slack: SlackEmulator, client: SlackClients
) -> None:
    admins = AdminDirectory(client, [f" {BOSS} ", BOB, ""])

    assert admins.is_admin(TEAM, BOSS) and admins.is_admin(TEAM, BOB)
    assert asked(slack) == []
    assert admins.configured == (BOSS, BOB)


def test_answers_are_kept_for_ten_minutes(slack: SlackEmulator, client: SlackClients) -> None:
    clock = Clock()
    admins = AdminDirectory(client, clock=clock)

    assert not admins.is_admin(TEAM, ALICE)
    slack.add_user(ALICE, "alice", is_admin=True)  # promoted in Slack
    clock.now += 599
    still = admins.is_admin(TEAM, ALICE)
    clock.now += 2
    later = admins.is_admin(TEAM, ALICE)

    assert (still, later) == (False, True)
    assert asked(slack) == [ALICE, ALICE]


def test_a_failed_lookup_refuses_without_being_remembered(
    slack: SlackEmulator, client: SlackClients
) -> None:
    admins = AdminDirectory(client)
    slack.inject("users.info", "fatal_error")

    assert not admins.is_admin(TEAM, ADMIN)
    assert admins.is_admin(TEAM, ADMIN), "asked again once Slack answers"


def test_contacts_name_the_configured_admins_or_a_workspace_admin(client: SlackClients) -> None:
    assert AdminDirectory(client).contacts(TEAM) == "a workspace admin"
    assert AdminDirectory(client, [BOSS]).contacts(TEAM) == f"<@{BOSS}>"
    assert AdminDirectory(client, [BOSS, BOB, ALICE]).contacts(TEAM) == (
        f"<@{BOSS}>, <@{BOB}> or <@{ALICE}>"
    )
