"""A workspace's own OpenAI key, set from Slack: checked, sealed, used, never shown.

A deployment of this module's own with TUNEBOT_SECRET_KEY set, Alice named in TUNEBOT_ADMINS
(Bob is nobody special) and a follower polling every second. The OpenAI emulator serves two
accounts at one address: the operator's (`OPENAI_API_KEY`) and the team's own (`OWN_KEY`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from finetuning.credentials import new_secret_key
from storage.db import make_engine
from tests.e2e.deployment import FAST_JOBS, Deployment, deployment_with
from tests.e2e.helpers import JOB_CREATE, Stage, block_texts, chat_jsonl, everything_said, stays
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.emulators.slack.records import View
from tests.emulators.slack_emulator import ALICE, BOB

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.db)]
SETTINGS = {
    "TUNEBOT_POLL_SECONDS": "1",
    "TUNEBOT_ADMINS": ALICE,
    "TUNEBOT_SECRET_KEY": new_secret_key(),
}
OWN_KEY = "sk-proj-e2eTeamOwnKey4Wq9Zx2Lm7Nb3Vc8Ht5Jr1Ys6Kd0Pf4Gu8"
WRONG_KEY = "sk-proj-e2eNobodysKeyAt0penAI9f8e7d6c5b4a3f2e1d0c9b8a7"
TIMEOUT = 20.0


@pytest.fixture(scope="module", params=DATABASES)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with deployment_with(request.param, tmp_path_factory.mktemp("keys"), SETTINGS) as found:
        found.bot.handed["the team's own key"] = OWN_KEY
        found.bot.handed["a wrong key"] = WRONG_KEY
        yield found


@pytest.fixture(scope="module")
def own_account(deployment: Deployment) -> OpenAIEmulator:
    return deployment.openai.add_account(OWN_KEY, organization="team-own", script=FAST_JOBS)


@pytest.fixture(autouse=True)
def operator_key_again(stage: Stage) -> Iterator[None]:
    """Every test starts with the workspace on the operator's key."""
    yield
    with make_engine(stage.database_url).begin() as connection:
        connection.execute(text("DELETE FROM workspace_credentials"))


def key_values(key: str) -> dict[str, Any]:
    return {"openai_key": {"value": {"type": "plain_text_input", "value": key}}}


def open_key_modal(stage: Stage, user: str = ALICE) -> View:
    before = {view.id for view in stage.slack.views}
    status, _ = stage.command("key", user=user)
    assert status == 200
    return stage.slack.wait_for(
        lambda: next(
            (v for v in stage.slack.views if v.id not in before and v.user == user and v.is_open),
            None,
        ),
        timeout=TIMEOUT,
    )


def shown(stage: Stage, view: View) -> str:
    current = stage.slack.view(view.id)
    assert current is not None
    return block_texts(current.blocks)


def modal_says(stage: Stage, view: View, words: str) -> str:
    def saying() -> str | None:
        said = shown(stage, view)
        return said if words in said else None

    return stage.slack.wait_for(saying, timeout=TIMEOUT)


def stored_rows(stage: Stage, table: str) -> str:
    with make_engine(stage.database_url).connect() as connection:
        return repr(connection.execute(text(f"SELECT * FROM {table}")).all())


def test_an_admin_sets_a_key_and_the_next_job_trains_and_ends_in_that_account(
    stage: Stage, own_account: OpenAIEmulator
):
    view = open_key_modal(stage)
    assert "key of whoever runs tunebot" in shown(stage, view)

    status, body = stage.slack.submit_view(ALICE, view.id, key_values(OWN_KEY))

    assert status == 200 and json.loads(body)["response_action"] == "update"
    said = modal_says(stage, view, "Key saved")
    assert "It works" in said and OWN_KEY not in said
    operator_creates = len(stage.provider_calls(*JOB_CREATE))
    shared = stage.share("train.jsonl", chat_jsonl())
    stage.report(shared)
    stage.command("start")
    notice = stage.slack.wait_for(
        lambda: next(
            (m for m in stage.thread(shared.ts) if "succeeded" in everything_said(m)), None
        ),
        timeout=TIMEOUT,
    )
    assert "ft:" in everything_said(notice) and "team-own" in everything_said(notice)
    assert own_account.count("POST", "/v1/fine_tuning/jobs") >= 1
    assert len(stage.provider_calls(*JOB_CREATE)) == operator_creates
    assert OWN_KEY not in stored_rows(stage, "workspace_credentials")
    assert OWN_KEY[-16:] not in stored_rows(stage, "workspace_credentials")
    assert "sealed_key" not in stored_rows(stage, "tasks")
    audit = stored_rows(stage, "audit_entries")
    assert "settings.changed" in audit and OWN_KEY[-16:] not in audit


def test_the_outcome_waits_for_slack_to_show_checking_and_replaces_it(
    stage: Stage, own_account: OpenAIEmulator
):
    """The task is started while the submission is answered and may finish before Slack has
    read that answer; shown then, the outcome would be covered by "checking" for good."""
    view = open_key_modal(stage)

    stage.slack.submit_view(ALICE, view.id, key_values(OWN_KEY), answer_applied_after=1.5)

    said = modal_says(stage, view, "Key saved")
    current = stage.slack.view(view.id)
    assert current is not None and "Checking the key" in block_texts(current.versions[-1]["blocks"])
    assert stays(lambda: "Key saved" in shown(stage, view), seconds=1.0)
    assert OWN_KEY not in said


def test_whoever_closes_the_modal_while_the_key_is_checked_is_told_in_the_channel(
    stage: Stage, own_account: OpenAIEmulator
):
    view = open_key_modal(stage)
    own_account.inject("/v1/models", None, delay=2.0)

    stage.slack.submit_view(ALICE, view.id, key_values(OWN_KEY))
    stage.slack.close_view(ALICE, view.id)

    told = stage.ephemeral("Key saved", timeout=TIMEOUT)
    assert OWN_KEY not in everything_said(told)
    assert stored_rows(stage, "workspace_credentials") != "[]"


def test_a_key_openai_refuses_is_not_saved_and_the_modal_says_why(stage: Stage):
    view = open_key_modal(stage)

    stage.slack.submit_view(ALICE, view.id, key_values(WRONG_KEY))

    said = modal_says(stage, view, "was not saved")
    assert "Incorrect API key" in said and WRONG_KEY not in said
    assert stored_rows(stage, "workspace_credentials") == "[]"


@pytest.mark.parametrize(
    ("pasted", "complaint"),
    [("sk-admin-" + "k" * 40, "admin key"), ("my key is sk-proj-" + "k" * 30, "without spaces")],
)
def test_what_cannot_be_a_key_is_refused_under_the_field(stage: Stage, pasted: str, complaint):
    view = open_key_modal(stage)
    tasks_before = stored_rows(stage, "tasks").count("slack.workspace_key")

    status, body = stage.slack.submit_view(ALICE, view.id, key_values(pasted))

    assert status == 200 and json.loads(body)["response_action"] == "errors"
    current = stage.slack.view(view.id)
    assert current is not None and current.is_open
    assert complaint in current.errors["openai_key"]
    assert stored_rows(stage, "tasks").count("slack.workspace_key") == tasks_before


def test_someone_who_is_not_an_admin_can_neither_open_nor_remove(stage: Stage):
    views_before = len(stage.slack.views)

    _, opened = stage.command("key", user=BOB)
    _, removed = stage.command("key remove", user=BOB)

    for answer in (opened, removed):
        assert "Only tunebot admins may change this workspace's OpenAI key" in answer
    assert stays(lambda: len(stage.slack.views) == views_before)


def test_removing_the_key_goes_back_to_the_operators_account(
    stage: Stage, own_account: OpenAIEmulator
):
    view = open_key_modal(stage)
    stage.slack.submit_view(ALICE, view.id, key_values(OWN_KEY))
    modal_says(stage, view, "Key saved")

    status, body = stage.command("key remove")
    answer = stage.private_answer(ALICE, "key is removed", TIMEOUT)

    assert status == 200 and "Removing" in body
    assert "key of whoever runs tunebot" in str(answer.body["text"])
    assert stored_rows(stage, "workspace_credentials") == "[]"
    reopened = open_key_modal(stage)
    assert "key of whoever runs tunebot" in shown(stage, reopened)
