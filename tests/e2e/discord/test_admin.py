"""The admins' commands from Discord: the audit log and the server's own OpenAI key, through the
real `tunebot serve --discord` between the Discord and OpenAI emulators.

On the shared deployment: Adam (ADMIN) holds the Admins role, which has Discord's Administrator
permission, so he is a tunebot admin; Alice (a Fine-tuner) and Bob are not, and no admin role or
id is configured, so a refusal sends them to "a server admin". The OpenAI emulator serves two
accounts at one address: the operator's (`OPENAI_API_KEY`) and the server's own (`OWN_KEY`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import text

from storage.db import make_engine
from tests.e2e.deployment import FAST_JOBS
from tests.e2e.discord.test_flow import (
    JOB_CREATE,
    answer_text,
    deferred_answer,
    job_creates,
    report_in_thread,
)
from tests.e2e.discord_deployment import DiscordDeployment
from tests.e2e.helpers import chat_jsonl, stays
from tests.emulators.discord.records import EPHEMERAL, MODAL
from tests.emulators.discord_emulator import ADMIN, ALICE, BOB, GENERAL, GUILD_ID, Message
from tests.emulators.openai_emulator import OpenAIEmulator

WORKSPACE = f"discord:{GUILD_ID}"
OWN_KEY = "sk-proj-e2eServerOwnKey7Hq2Wd9Lx4Mn6Bv1Cz8Rt3Yk5Pf0Gs4Ju8"
WRONG_KEY = "sk-proj-e2eNobodysServerKey0f9e8d7c6b5a4f3e2d1c0b9a8f7e6"
TIMEOUT = 20.0
MODELS = ("GET", "/v1/models")


@pytest.fixture(scope="session")
def own_account(shared_discord: DiscordDeployment) -> OpenAIEmulator:
    """The server's own OpenAI account, beside the operator's, once per shared deployment."""
    shared_discord.bot.handed["the server's own key"] = OWN_KEY
    shared_discord.bot.handed["a key OpenAI refuses"] = WRONG_KEY
    return shared_discord.openai.add_account(OWN_KEY, organization="server-own", script=FAST_JOBS)


@pytest.fixture
def d(discord_stage: DiscordDeployment, own_account: OpenAIEmulator) -> Iterator[DiscordDeployment]:
    """The shared deployment, back on the operator's key after each test, as a removal leaves
    it: no key of the server's own, and no file id of the other account remembered."""
    yield discord_stage
    with make_engine(discord_stage.database_url).begin() as connection:
        connection.execute(
            text("DELETE FROM workspace_credentials WHERE workspace_id = :w"), {"w": WORKSPACE}
        )
        connection.execute(
            text("UPDATE datasets SET provider_file_id = NULL WHERE workspace_id = :w"),
            {"w": WORKSPACE},
        )


def stored(d: DiscordDeployment, query: str) -> str:
    with make_engine(d.database_url).connect() as connection:
        return repr(connection.execute(text(query), {"w": WORKSPACE}).all())


def private_to(message: Message, user: int) -> bool:
    return bool(message.flags & EPHEMERAL) and message.ephemeral_to == user


def refusal(d: DiscordDeployment, interaction_id: int) -> str:
    """An answer given at once, privately (no task was written for it)."""
    answered = d.discord.wait_for_callback(interaction_id, TIMEOUT)
    assert answered.callback is not None and answered.callback.type == 4
    assert answered.callback.data["flags"] & EPHEMERAL
    return str(answered.callback.data["content"])


def uploaded_and_started(d: DiscordDeployment, user: int = ALICE) -> tuple[str, str, Message]:
    """`user` drops a dataset and starts a job on it that runs to its end; (ds-N, job-N, the
    dataset's message)."""
    posted = d.discord.post(user, GENERAL, "", files=[("admin.jsonl", chat_jsonl())])
    (report,) = report_in_thread(d, posted.id)
    dataset = report.embeds[0]["title"].split(" ")[0]
    started = d.discord.run_command(user, GENERAL, "finetune start", dataset=dataset)
    assert "You may not" not in answer_text(d, started.id)

    def announced() -> str | None:
        for message in d.discord.bot_messages(posted.id):
            found = re.search(r"Fine-tune (job-\d+) started", str(message.embeds))
            if found:
                return found.group(1)
        return None

    job = d.discord.wait_for(announced, TIMEOUT)
    return dataset, job, posted


def ended(d: DiscordDeployment, posted: Message) -> Message:
    """The job's success notice in the dataset's thread."""
    return d.discord.wait_for(
        lambda: next(
            (m for m in d.discord.bot_messages(posted.id) if "succeeded." in m.content), None
        ),
        TIMEOUT,
    )


def open_key_modal(d: DiscordDeployment, user: int = ADMIN) -> int:
    """`/finetune key`: the modal opened in answer; returns the interaction id."""
    asked = d.discord.run_command(user, GENERAL, "finetune key")
    answered = d.discord.wait_for_callback(asked.id, TIMEOUT)
    assert answered.callback is not None and answered.callback.type == MODAL
    return asked.id


def submit_key(d: DiscordDeployment, key: str, user: int = ADMIN) -> Message:
    """Type `key` into a freshly opened key modal and submit it; the private answer."""
    opened = open_key_modal(d, user)
    submitted = d.discord.submit_modal(user, opened, {"key": key})
    answer = deferred_answer(d, submitted.id, TIMEOUT)
    assert private_to(answer, user)
    return answer


# -- the audit log ---------------------------------------------------------------------------


def test_an_admin_reads_what_was_just_done_newest_first_and_only_they_see_it(
    d: DiscordDeployment,
):
    dataset, job, _ = uploaded_and_started(d)

    asked = d.discord.run_command(ADMIN, GENERAL, "finetune audit", entries=100)
    answer = deferred_answer(d, asked.id, TIMEOUT)

    assert private_to(answer, ADMIN)
    (embed,) = answer.embeds
    assert embed["title"].startswith("Audit log: the last ")
    lines = embed["description"].splitlines()
    uploaded = [i for i, line in enumerate(lines) if f"`{dataset}`" in line]
    started = [i for i, line in enumerate(lines) if f"`job.started` `{job}`" in line]
    assert len(uploaded) == 1 and len(started) == 1
    assert started[0] < uploaded[0], "newest first"
    for index in (uploaded[0], started[0]):
        assert f"<@{ALICE}>" in lines[index] and re.match(r"• <t:\d+:f> ", lines[index])
    assert "`dataset.uploaded`" in lines[uploaded[0]]
    assert "$" in lines[started[0]], "a start carries its estimate"


def test_the_csv_is_a_file_only_the_admin_sees_with_the_rows_oldest_first(
    d: DiscordDeployment,
):
    dataset, job, _ = uploaded_and_started(d)

    asked = d.discord.run_command(ADMIN, GENERAL, "finetune audit", csv=True)
    answer = deferred_answer(d, asked.id, TIMEOUT)

    assert private_to(answer, ADMIN) and "last 90 days" in answer.content
    (attachment_id,) = answer.attachment_ids
    assert re.fullmatch(
        r"tunebot-audit-\d{4}-\d{2}-\d{2}\.csv", d.discord.attachment(attachment_id)["filename"]
    )
    content = d.discord.attachment_bytes(attachment_id).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    mine = [r for r in rows if r["subject"] in (dataset, job) and r["actor"] == str(ALICE)]
    assert [r["action"] for r in mine] == ["dataset.uploaded", "job.started"]
    assert Decimal(mine[1]["cost_usd"]) > 0
    assert all(r["time_utc"].endswith("+00:00") for r in rows)


def test_someone_who_is_not_an_admin_is_told_why_and_whom_to_ask(d: DiscordDeployment):
    uploaded_and_started(d, BOB)
    calls_before = len(d.discord.calls_to("POST /webhooks/{application_id}/{token}"))

    for options in ({}, {"csv": True}):
        asked = d.discord.run_command(BOB, GENERAL, "finetune audit", **options)
        said = refusal(d, asked.id)
        assert "Only tunebot admins may read the audit log" in said
        assert "a server admin" in said and "dataset.uploaded" not in said
    assert stays(
        lambda: len(d.discord.calls_to("POST /webhooks/{application_id}/{token}")) == calls_before
    ), "nothing is sent afterwards: no file, no log"


# -- the server's own OpenAI key -------------------------------------------------------------


def test_an_admin_sets_a_key_and_the_servers_next_job_runs_in_that_account(
    d: DiscordDeployment, own_account: OpenAIEmulator
):
    opened = open_key_modal(d)
    modal = d.discord.interaction(opened).callback
    assert modal is not None
    assert "value" not in str(modal.data["components"]), "no key is ever sent back to the form"

    answer = d.discord.submit_modal(ADMIN, opened, {"key": OWN_KEY})
    said = deferred_answer(d, answer.id, TIMEOUT)

    assert private_to(said, ADMIN)
    assert "Key saved. It works" in said.content and OWN_KEY not in said.content
    operator_creates = job_creates(d)
    own_creates = own_account.count(*JOB_CREATE)
    _, _, posted = uploaded_and_started(d)
    ended(d, posted)
    assert own_account.count(*JOB_CREATE) == own_creates + 1
    assert job_creates(d) == operator_creates
    credentials = stored(d, "SELECT * FROM workspace_credentials WHERE workspace_id = :w")
    assert OWN_KEY not in credentials and OWN_KEY[-16:] not in credentials
    assert "sealed_key" not in stored(d, "SELECT payload FROM tasks")
    audit = stored(d, "SELECT actor, action, detail FROM audit_entries WHERE workspace_id = :w")
    assert f"('{ADMIN}', 'settings.changed'" in audit and OWN_KEY[-16:] not in audit
    log = d.bot.log()
    assert OWN_KEY not in log and OWN_KEY[-16:] not in log


def test_a_key_openai_refuses_is_not_saved_and_the_answer_says_why(d: DiscordDeployment):
    said = submit_key(d, WRONG_KEY)

    assert "The key was not saved" in said.content and "Incorrect API key" in said.content
    assert WRONG_KEY not in said.content and WRONG_KEY[-16:] not in d.bot.log()
    assert stored(d, "SELECT * FROM workspace_credentials WHERE workspace_id = :w") == "[]"


def test_what_cannot_be_a_key_is_refused_at_once_without_a_task(d: DiscordDeployment):
    tasks_before = stored(d, "SELECT id FROM tasks WHERE kind = 'discord.workspace_key'")
    opened = open_key_modal(d)

    submitted = d.discord.submit_modal(ADMIN, opened, {"key": "sk-admin-" + "k" * 40})

    assert "admin key" in refusal(d, submitted.id)
    after = stored(d, "SELECT id FROM tasks WHERE kind = 'discord.workspace_key'")
    assert after == tasks_before


def test_removing_the_key_goes_back_to_the_operators_account(
    d: DiscordDeployment, own_account: OpenAIEmulator
):
    assert "Key saved" in submit_key(d, OWN_KEY).content

    removed = d.discord.run_command(ADMIN, GENERAL, "finetune key", action="remove")
    said = deferred_answer(d, removed.id, TIMEOUT)

    assert private_to(said, ADMIN)
    assert "key is removed" in said.content and "key of whoever runs tunebot" in said.content
    assert stored(d, "SELECT * FROM workspace_credentials WHERE workspace_id = :w") == "[]"
    operator_models = d.openai.count(*MODELS)
    own_models = own_account.count(*MODELS)
    listed = d.discord.run_command(ALICE, GENERAL, "finetune models")
    assert "Your fine-tuned models" in answer_text(d, listed.id)
    assert d.openai.count(*MODELS) > operator_models
    assert own_account.count(*MODELS) == own_models
    again = d.discord.run_command(ADMIN, GENERAL, "finetune key", action="remove")
    assert "has no key of its own to remove" in deferred_answer(d, again.id).content


def test_someone_who_is_not_an_admin_can_neither_open_the_form_nor_remove(
    d: DiscordDeployment,
):
    assert "Key saved" in submit_key(d, OWN_KEY).content

    for options in ({}, {"action": "remove"}):
        asked = d.discord.run_command(BOB, GENERAL, "finetune key", **options)
        said = refusal(d, asked.id)
        assert "Only tunebot admins may change this server's OpenAI key" in said
        assert "a server admin" in said
    assert stored(d, "SELECT set_by FROM workspace_credentials WHERE workspace_id = :w") == (
        f"[('{ADMIN}',)]"
    )
