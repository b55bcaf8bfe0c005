"""Team controls from Discord: who may act on jobs, and approvals of costly ones.

A deployment of this module's own per database: only the Fine-tuners role may start, cancel and
delete; a job estimated over $0.50 waits for an admin (the Admins role, or the owner), whose
requests go to #random. The last tests share a second deployment without an admins' channel,
where Adam and Bob are TUNEBOT_ADMINS and Bob takes no DMs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.discord.test_flow import answer_text, button_id, job_creates
from tests.e2e.discord.test_jobs import FROZEN, TIMEOUT, job_row, post_dataset, start_job
from tests.e2e.discord_deployment import DiscordDeployment, discord_deployment_with
from tests.e2e.helpers import call_failed, chat_jsonl, stays
from tests.e2e.test_team import costly_jsonl
from tests.emulators.discord_emulator import (
    ADMIN,
    ALICE,
    BOB,
    FINETUNERS_ROLE,
    GENERAL,
    OWNER,
    RANDOM,
    Interaction,
    Message,
)

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.db)]
ADMINS_CHANNEL = RANDOM
SETTINGS = {
    "TUNEBOT_POLL_SECONDS": "1",
    "DISCORD_ALLOWED_ROLES": str(FINETUNERS_ROLE),
    "TUNEBOT_APPROVAL_USD": "0.5",
    "DISCORD_ADMIN_CHANNEL": str(ADMINS_CHANNEL),
}
CALLBACK = "POST /interactions/{interaction_id}/{token}/callback"


@pytest.fixture(scope="module", params=DATABASES)
def team_deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DiscordDeployment]:
    data_dir = tmp_path_factory.mktemp(f"dteam-{request.param}")
    with discord_deployment_with(request.param, data_dir, SETTINGS) as found:
        yield found


@pytest.fixture
def d(
    team_deployment: DiscordDeployment, request: pytest.FixtureRequest
) -> Iterator[DiscordDeployment]:
    team_deployment.openai.script = FROZEN
    yield team_deployment
    team_deployment.openai.clear_faults()
    if call_failed(request):
        print(team_deployment.bot.log()[-20000:])


def waiting_job(d: DiscordDeployment) -> tuple[int, str]:
    """Alice asks for a job over the approval limit: (its file's thread, job-N)."""
    thread, dataset = post_dataset(d, costly_jsonl(300))
    asked = d.discord.run_command(ALICE, GENERAL, "finetune start", dataset=dataset)
    said = answer_text(d, asked.id)
    assert "waits for an admin's approval" in said, said
    job = said.split("✋ ", 1)[1].split(" ", 1)[0]
    return thread, job


def request_for(d: DiscordDeployment, job: str, channel: int = ADMINS_CHANNEL) -> Message:
    """The approval request for `job`, with its buttons."""
    return d.discord.wait_for(
        lambda: next(
            (
                m
                for m in d.discord.bot_messages(channel)
                if m.embeds and job in m.embeds[0]["title"] and m.components
            ),
            None,
        ),
        TIMEOUT,
    )


def said_in(d: DiscordDeployment, thread: int, text: str) -> Message:
    return d.discord.wait_for(
        lambda: next((m for m in d.discord.bot_messages(thread) if text in m.content), None),
        TIMEOUT,
    )


def message_text(d: DiscordDeployment, message_id: int) -> str:
    found = d.discord.message(message_id)
    return found.content if found is not None else ""


def shown_by(interaction: Interaction) -> str:
    """What a click's answer replaced the request with (title and description)."""
    assert interaction.callback is not None and interaction.callback.type == 7
    (embed,) = interaction.callback.data["embeds"]
    return f"{embed['title']}: {embed['description']}"


# --- roles -------------------------------------------------------------------------------------


def test_someone_without_the_role_may_not_cancel_pause_resume_or_delete(d: DiscordDeployment):
    started = start_job(d)
    d.openai.set_status(started.provider_id, "running")
    before = len(d.openai.requests)

    answers = {
        name: answer_text(d, d.discord.run_command(BOB, GENERAL, f"finetune {name}", **o).id)
        for name, o in (
            ("cancel", {"job": started.job}),
            ("pause", {"job": started.job}),
            ("resume", {"job": started.job}),
            ("delete", {"model": "ft:gpt-4o-mini-2024-07-18:org::abc"}),
        )
    }

    for name in ("cancel", "pause", "resume"):
        assert "You may not cancel, pause or resume jobs" in answers[name], answers[name]
    assert "You may not delete models" in answers["delete"]
    assert stays(lambda: [r for r in d.openai.requests[before:] if r.method != "GET"] == [], 1.0)
    assert d.openai.job(started.provider_id)["status"] == "running"
    assert job_row(d, started.job).cancelled_by is None


# --- approvals ---------------------------------------------------------------------------------


def test_a_costly_job_waits_and_two_admins_approving_at_once_start_it_once(d: DiscordDeployment):
    thread, job = waiting_job(d)
    request = request_for(d, job)
    waiting = said_in(d, thread, "waits for an admin's approval")
    assert f"<#{ADMINS_CHANNEL}>" in waiting.content and f"<@{ALICE}>" in waiting.content
    assert f"<@{ALICE}>" in request.embeds[0]["description"]
    assert job_row(d, job).status == "awaiting_approval"
    before = job_creates(d)

    refused = d.discord.wait_for_callback(
        d.discord.click(BOB, request.id, button_id(request, "Approve")).id
    )
    assert refused.callback is not None and refused.callback.data["flags"] & 64
    assert "Only tunebot admins may approve or reject jobs" in refused.callback.data["content"]
    assert stays(lambda: job_creates(d) == before, 1.0)

    # Both clicks land before either answer: Discord refuses clicks on buttons that are gone.
    d.discord.inject(CALLBACK, delay=1.0, count=2)
    clicks = [
        d.discord.click(who, request.id, button_id(request, "Approve")) for who in (ADMIN, OWNER)
    ]
    answers = [shown_by(d.discord.wait_for_callback(c.id, TIMEOUT)) for c in clicks]

    winner = job_row(d, job).approved_by
    assert winner in (str(ADMIN), str(OWNER))
    assert answers == [f"{job} approved: Approved by <@{winner}>."] * 2
    told = said_in(d, thread, f"{job} was approved by <@{winner}>")
    assert f"<@{ALICE}>" in told.content and told.embeds[0]["title"].endswith("started")
    assert stays(lambda: job_creates(d) == before + 1, 1.5)
    assert job_row(d, job).status_message_ts == str(told.id), "the start is the job's message"
    d.discord.wait_for(lambda: "was approved" in message_text(d, waiting.id), TIMEOUT)
    final = d.discord.message(request.id)
    assert final is not None and not final.components


def test_a_rejection_tells_the_requester_and_starts_nothing(d: DiscordDeployment):
    thread, job = waiting_job(d)
    request = request_for(d, job)
    before = job_creates(d)

    clicked = d.discord.click(OWNER, request.id, button_id(request, "Reject"))

    assert shown_by(d.discord.wait_for_callback(clicked.id)) == (
        f"{job} rejected: Rejected by <@{OWNER}>."
    )
    told = said_in(d, thread, "Nothing was started or spent")
    assert f"<@{ALICE}>, {job} was rejected by <@{OWNER}>" in told.content
    assert f"{job} was rejected by <@{OWNER}>" in said_in(d, thread, "⛔ job-").content
    assert stays(lambda: job_creates(d) == before, 1.0)
    assert job_row(d, job).status == "rejected"


# --- without an admins' channel: each listed admin's DMs, else the thread -------------------------

NOBODY = 900000000000009999
"""A user id Discord does not know (10013)."""
DM_SETTINGS = {
    "TUNEBOT_POLL_SECONDS": "1",
    "TUNEBOT_APPROVAL_USD": "0",
    "TUNEBOT_ADMINS": f"{ADMIN},{BOB},{NOBODY},U024BE7LH",
}
"""Every job waits; Adam and Bob are tunebot's admins, and Bob takes no DMs. The list also holds
an id nobody has and a Slack user's id (one list serves both front ends): neither stops the
request."""
MESSAGES = "POST /channels/{channel_id}/messages"


@pytest.fixture(scope="module", params=DATABASES)
def dm_deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DiscordDeployment]:
    data_dir = tmp_path_factory.mktemp(f"dteam-dm-{request.param}")
    with discord_deployment_with(request.param, data_dir, DM_SETTINGS) as found:
        found.discord.refuse_dms(BOB)
        yield found


@pytest.fixture
def dm(
    dm_deployment: DiscordDeployment, request: pytest.FixtureRequest
) -> Iterator[DiscordDeployment]:
    dm_deployment.openai.script = FROZEN
    yield dm_deployment
    dm_deployment.discord.refuse_dms(ADMIN, refuse=False)
    dm_deployment.discord.refuse_dms(BOB)
    if call_failed(request):
        print(dm_deployment.bot.log()[-20000:])


def refused_dms(d: DiscordDeployment, user: int) -> int:
    """How many of the bot's messages to `user`'s DMs Discord refused (50007)."""
    channel = d.discord.dm_channel(user)
    if channel is None:
        return 0
    path = f"/channels/{channel.id}/messages"
    return sum(1 for c in d.discord.calls_to(MESSAGES) if c.path.endswith(path) and c.status == 403)


def dm_request_for(d: DiscordDeployment, admin: int, job: str) -> Message:
    channel = d.discord.wait_for(lambda: d.discord.dm_channel(admin), TIMEOUT)
    return request_for(d, job, channel.id)


def asked_by_dm(d: DiscordDeployment) -> tuple[int, Message, str]:
    """Alice starts a job that waits: (its file's thread, the waiting message, job-N)."""
    thread, dataset = post_dataset(d, chat_jsonl())
    d.discord.run_command(ALICE, GENERAL, "finetune start", dataset=dataset)
    waiting = said_in(d, thread, "waits for an admin's approval")
    return thread, waiting, waiting.content.split(", ", 1)[1].split(" ", 1)[0]


def test_without_an_admins_channel_each_admin_is_asked_by_dm_and_decides_there(
    dm: DiscordDeployment,
):
    refused_before = refused_dms(dm, BOB)
    thread, waiting, job = asked_by_dm(dm)
    assert "by direct message" in waiting.content and not waiting.components
    request = dm_request_for(dm, ADMIN, job)
    assert request.guild_id is None and f"<@{ALICE}>" in request.embeds[0]["description"]
    assert {button_id(request, "Approve"), button_id(request, "Reject")}
    dm.discord.wait_for(lambda: refused_dms(dm, BOB) == refused_before + 1, TIMEOUT)
    before = job_creates(dm)

    clicked = dm.discord.click(ADMIN, request.id, button_id(request, "Approve"))

    assert shown_by(dm.discord.wait_for_callback(clicked.id)) == (
        f"{job} approved: Approved by <@{ADMIN}>."
    )
    told = said_in(dm, thread, f"{job} was approved by <@{ADMIN}>")
    assert f"<@{ALICE}>" in told.content and told.embeds[0]["title"].endswith("started")
    assert stays(lambda: job_creates(dm) == before + 1, 1.5)
    assert job_row(dm, job).approved_by == str(ADMIN)
    dm.discord.wait_for(lambda: "was approved" in message_text(dm, waiting.id), TIMEOUT)
    decided = dm.discord.message(request.id)
    assert decided is not None and not decided.components
    assert decided.embeds[0]["title"] == f"{job} approved"
    assert stays(lambda: refused_dms(dm, BOB) == refused_before + 1, 0.5), "Bob is asked once"
    log = dm.bot.log()
    assert f"approval request for {job} not sent to admin {BOB}" in log
    assert f"approval request for {job} not sent to admin {NOBODY}" in log
    assert not [m for m in dm.discord.messages(thread) if m.components and job in str(m.embeds)]


def test_a_rejection_in_one_admins_dm_shows_on_the_others_and_tells_the_requester(
    dm: DiscordDeployment,
):
    dm.discord.refuse_dms(BOB, refuse=False)
    thread, waiting, job = asked_by_dm(dm)
    adams, bobs = dm_request_for(dm, ADMIN, job), dm_request_for(dm, BOB, job)
    before = job_creates(dm)

    clicked = dm.discord.click(BOB, bobs.id, button_id(bobs, "Reject"))

    assert shown_by(dm.discord.wait_for_callback(clicked.id)) == (
        f"{job} rejected: Rejected by <@{BOB}>."
    )
    told = said_in(dm, thread, "Nothing was started or spent")
    assert f"<@{ALICE}>, {job} was rejected by <@{BOB}>" in told.content
    other = dm.discord.wait_for(
        lambda: (m := dm.discord.message(adams.id)) is not None and not m.components and m,
        TIMEOUT,
    )
    assert other.embeds[0]["title"] == f"{job} rejected"
    assert other.embeds[0]["description"] == f"Rejected by <@{BOB}>."
    dm.discord.wait_for(lambda: "was rejected" in message_text(dm, waiting.id), TIMEOUT)
    assert stays(lambda: job_creates(dm) == before, 1.0)
    assert job_row(dm, job).status == "rejected"


def test_cancelling_a_waiting_job_withdraws_every_admins_request_and_says_so_in_the_thread(
    dm: DiscordDeployment,
):
    dm.discord.refuse_dms(BOB, refuse=False)
    _, waiting, job = asked_by_dm(dm)
    requests = [dm_request_for(dm, ADMIN, job), dm_request_for(dm, BOB, job)]
    before = job_creates(dm)

    asked = dm.discord.run_command(ALICE, GENERAL, "finetune cancel", job=job)

    assert f"`{job}` (now cancelled)" in answer_text(dm, asked.id)
    for request in requests:
        shown = dm.discord.wait_for(
            lambda r=request: (
                (m := dm.discord.message(r.id)) is not None and not m.components and m
            ),
            TIMEOUT,
        )
        assert shown.embeds[0]["title"] == f"{job} withdrawn"
        assert shown.embeds[0]["description"] == f"Withdrawn by <@{ALICE}>."
    dm.discord.wait_for(lambda: "was withdrawn" in message_text(dm, waiting.id), TIMEOUT)
    assert f"<@{ALICE}>" in message_text(dm, waiting.id)
    assert job_row(dm, job).status == "cancelled"
    assert stays(lambda: job_creates(dm) == before, 0.5)


def test_with_no_admin_reachable_the_request_is_the_waiting_message_in_the_thread(
    dm: DiscordDeployment,
):
    dm.discord.refuse_dms(ADMIN)
    thread, dataset = post_dataset(dm, chat_jsonl())
    dm.discord.run_command(ALICE, GENERAL, "finetune start", dataset=dataset)
    request = dm.discord.wait_for(
        lambda: next(
            (m for m in dm.discord.bot_messages(thread) if "Approve" in str(m.components)), None
        ),
        TIMEOUT,
    )
    assert "waits for an admin's approval" in request.content
    assert "direct message" not in request.content, "nobody was asked directly"
    job = request.content.split(", ", 1)[1].split(" ", 1)[0]
    before = job_creates(dm)

    dm.discord.click(ADMIN, request.id, button_id(request, "Approve"))

    told = said_in(dm, thread, f"{job} was approved by <@{ADMIN}>")
    assert told.embeds[0]["title"].endswith("started")
    assert stays(lambda: job_creates(dm) == before + 1, 1.0)
    decided = dm.discord.message(request.id)
    assert decided is not None and not decided.components
    assert decided.embeds[0]["title"] == f"{job} approved"
    assert "waits" not in decided.content, "the decision replaces the waiting words"
