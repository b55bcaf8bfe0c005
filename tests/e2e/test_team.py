"""Team controls from Slack: who may act where, monthly budgets, and approvals of costly jobs.

A deployment of this module's own, with allow-lists, budgets, an approval limit and an admin
channel set. Allowed people and channels come from fixed pools (the settings are read once, at
start), each test taking fresh ones so that what one test spends does not count against the
next. The follower polls every second, so started jobs end and book their actual cost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tests.e2e.deployment import FAST_JOBS, Deployment, deployment_with
from tests.e2e.helpers import (
    JOB_CREATE,
    START_ACTION,
    Shared,
    Stage,
    block_texts,
    buttons,
    call_failed,
    chat_jsonl,
    dataset_id,
    everything_said,
    job_id,
    provider_job_id,
    stays,
)
from tests.emulators.openai_emulator import JobScript
from tests.emulators.slack_emulator import ADMIN, ALICE, BOB, BOT_USER_ID, OWNER, Message

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.db)]
BOSS = "U0BOSS"
"""In TUNEBOT_ADMINS; not an admin of the Slack workspace."""
CAROL = "U0CAROL"
"""A member of every channel here who is on no list."""
PEOPLE = [f"U0TEAM{n:02d}" for n in range(1, 31)]
CHANNELS = [f"C0TEAM{n:02d}" for n in range(1, 31)]
ADMIN_CHANNEL = "C0ADMINS"
APPROVE, REJECT = "approve_job", "reject_job"
WAIT = 15.0
SETTINGS = {
    "TUNEBOT_POLL_SECONDS": "1",
    "TUNEBOT_ADMINS": BOSS,
    "TUNEBOT_ALLOWED_USERS": ",".join([ALICE, *PEOPLE]),
    "TUNEBOT_ALLOWED_CHANNELS": ", ".join(CHANNELS),
    "TUNEBOT_MONTHLY_BUDGET_USD": "1000",
    "TUNEBOT_USER_MONTHLY_BUDGET_USD": "1",
    "TUNEBOT_APPROVAL_USD": "0.5",
    "TUNEBOT_ADMIN_CHANNEL": ADMIN_CHANNEL,
}


def costly_jsonl(words: int, count: int = 100) -> bytes:
    """A valid chat dataset whose estimate grows with `words` per answer: with the default
    model, 300 words cost about $0.55 (over the approval limit, within a person's $1) and 600
    about $1.10 (over a person's budget)."""
    tag = uuid.uuid4().hex[:10]
    body = " ".join(f"w{i % 97}" for i in range(words))
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"[{tag}] question {i}"},
                    {"role": "assistant", "content": f"{i} {body}"},
                ]
            }
        )
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Team:
    """The deployment and the pools each test draws fresh people and channels from."""

    deployment: Deployment
    people: Iterator[str] = field(default_factory=lambda: iter(PEOPLE))
    channels: Iterator[str] = field(default_factory=lambda: iter(CHANNELS))


@pytest.fixture(scope="module", params=DATABASES)
def team(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Team]:
    with deployment_with(request.param, tmp_path_factory.mktemp("team"), SETTINGS) as found:
        slack = found.slack
        slack.add_user(BOSS, "boss")
        slack.add_user(CAROL, "carol")
        for person in PEOPLE:
            slack.add_user(person, person.lower())
        slack.add_channel(
            ADMIN_CHANNEL, "tunebot-admins", members={ADMIN, OWNER, BOSS, BOB, BOT_USER_ID}
        )
        yield Team(found)


@pytest.fixture
def stage(team: Team, request: pytest.FixtureRequest) -> Iterator[Stage]:
    """A fresh channel that is *not* on the allowed list (see `allowed`).

    The follower here polls every second, so a job a test leaves running is read at OpenAI
    throughout the next tests, and a task still in flight ends in the next test's logs: each
    test is settled (`Stage.settle`) before the next begins.
    """
    deployment = team.deployment
    current = Stage(
        slack=deployment.slack,
        openai=deployment.openai,
        bot=deployment.bot,
        database_url=deployment.database_url,
    ).begin()
    everyone = {ALICE, BOB, CAROL, ADMIN, OWNER, BOSS, BOT_USER_ID, *PEOPLE}
    deployment.slack.add_channel(current.channel, current.channel.lower(), members=everyone)
    try:
        yield current
        deployment.openai.clear_faults()
        deployment.slack.clear_faults()
        deployment.openai.script = FAST_JOBS
        current.settle()
    finally:
        deployment.openai.clear_faults()
        deployment.slack.clear_faults()
        deployment.openai.script = FAST_JOBS
        current.close()
        if call_failed(request):
            print(current.log())


def allowed(stage: Stage, team: Team) -> str:
    """Move the stage into a fresh channel from the allowed list; returns its id."""
    channel = next(team.channels)
    everyone = {ALICE, BOB, CAROL, ADMIN, OWNER, BOSS, BOT_USER_ID, *PEOPLE}
    stage.slack.add_channel(channel, channel.lower(), members=everyone)
    stage.channel = channel
    return channel


def shared(stage: Stage, content: bytes | None = None, *, user: str = ALICE) -> Shared:
    """A file shared in the stage's channel, once its report is in."""
    file = stage.share("train.jsonl", content or chat_jsonl(20), user=user)
    stage.report(file, timeout=WAIT)
    return file


def said_in(stage: Stage, ts: str, contains: str) -> Message:
    """Wait for the app's message in a thread that says `contains`."""
    return stage.slack.wait_for(
        lambda: next(
            (m for m in stage.thread(ts) if m.by_app and contains in everything_said(m)), None
        ),
        timeout=WAIT,
    )


def budget_of(stage: Stage, user: str) -> str:
    """`/finetune budget` as `user` sees it, answered in the acknowledgement."""
    status, body = stage.command("budget", user=user)
    assert status == 200, body
    answer = json.loads(body)
    return f"{answer['text']}\n{block_texts(answer['blocks'])}"


def request_for(stage: Stage, job: str) -> Message:
    """The approval request for `job` in the admin channel."""
    return stage.slack.wait_for(
        lambda: next(
            (
                m
                for m in stage.slack.messages(ADMIN_CHANNEL)
                if m.by_app and job in everything_said(m) and APPROVE in buttons(m)
            ),
            None,
        ),
        timeout=WAIT,
    )


def edited_to_say(stage: Stage, channel: str, ts: str, words: str) -> Message:
    """The app's message once an edit made it say `words` (a decision where buttons were)."""
    return stage.slack.wait_for(
        lambda: (m := stage.slack.message(channel, ts)) and words in everything_said(m) and m,
        timeout=WAIT,
    )


def hold_edits(stage: Stage, seconds: float = 1.0, count: int = 3) -> None:
    """Hold the app's next `count` message edits `seconds` each before Slack applies them.

    A test that clicks a request again after a decision (a second admin, or the first one twice)
    must click while the buttons are still there: the emulator, as Slack, refuses a click on a
    button that is gone. The decision task that replaces them starts the moment the first click
    is answered and needs only a few calls, so without this the second click races it.
    """
    stage.slack.inject("chat.update", delay=seconds, count=count)


def waiting_job(stage: Stage, team: Team) -> tuple[str, Shared, str]:
    """A fresh person asks for a job over the approval limit: (person, file, job-N)."""
    person = next(team.people)
    allowed(stage, team)
    file = shared(stage, costly_jsonl(300), user=person)
    status, _ = stage.command("start", user=person)
    assert status == 200
    waiting = said_in(stage, file.ts, "waits for an admin's approval")
    return person, file, job_id(everything_said(waiting))


def ephemeral_in(stage: Stage, channel: str, user: str, contains: str) -> str:
    return stage.slack.wait_for(
        lambda: next(
            (
                everything_said(e)
                for e in stage.slack.ephemerals
                if e.channel == channel and e.user == user and contains in everything_said(e)
            ),
            None,
        ),
        timeout=WAIT,
    )


# --- roles -------------------------------------------------------------------------------------


def test_someone_not_on_the_list_may_check_files_but_not_start(stage: Stage, team: Team):
    allowed(stage, team)
    file = shared(stage, user=CAROL)
    report = stage.report(file)

    status, body = stage.command("start", user=CAROL)
    stage.click(report, START_ACTION, user=CAROL)

    assert status == 200
    assert "You may not start fine-tunes" in body
    assert f"Ask <@{BOSS}>" in body
    clicked = stage.ephemeral("You may not start fine-tunes", user=CAROL)
    assert f"<@{BOSS}>" in clicked.text
    assert not [v for v in stage.slack.views if v.user == CAROL], "no start modal for Carol"
    assert dataset_id(report).startswith("ds-"), "the file was still checked"
    assert stays(lambda: stage.provider_calls(*JOB_CREATE) == [], 1.0)


def test_someone_not_on_the_list_may_not_cancel_pause_resume_or_delete(stage: Stage, team: Team):
    allowed(stage, team)
    file = shared(stage)
    stage.openai.script = JobScript(manual=True)
    stage.command("start")
    job = job_id(everything_said(said_in(stage, file.ts, "started by")))
    before = len(stage.provider_requests())

    answers = {
        text: stage.command(text, user=CAROL)[1]
        for text in (f"cancel {job}", f"pause {job}", f"resume {job}", "delete ft:gpt-4o:x")
    }

    for text in ("cancel", "pause", "resume"):
        assert "You may not cancel, pause or resume jobs" in answers[f"{text} {job}"], text
    assert "You may not delete models" in answers["delete ft:gpt-4o:x"]
    assert all(f"<@{BOSS}>" in answer for answer in answers.values())

    def changes() -> list[str]:
        """What reached OpenAI besides the follower's reads."""
        return [r.path for r in stage.provider_requests()[before:] if r.method != "GET"]

    assert stays(lambda: changes() == [], 1.0)
    assert stage.job_row(job).cancelled_by is None


def test_starting_outside_the_allowed_channels_is_refused_naming_them(stage: Stage, team: Team):
    file = shared(stage)

    status, body = stage.command("start")

    assert status == 200
    assert "You may not start fine-tunes in this channel" in body
    assert f"<#{CHANNELS[0]}>" in body and f"<#{CHANNELS[-1]}>" in body
    assert f"<@{BOSS}>" in body
    assert stays(lambda: stage.provider_calls(*JOB_CREATE) == [], 1.0)
    assert len(stage.thread(file.ts)) == 1


def test_admins_may_act_anywhere(stage: Stage, team: Team):
    """A workspace admin (Slack says so) and a TUNEBOT_ADMINS person, outside the lists."""
    stage.openai.script = JobScript(manual=True)
    first = shared(stage)
    stage.command("start", user=ADMIN)
    announced = said_in(stage, first.ts, "started by")
    assert f"started by <@{ADMIN}>" in everything_said(announced)

    job = job_id(everything_said(announced))
    status, body = stage.command(f"cancel {job}", user=BOSS)
    assert status == 200 and "Asking OpenAI to cancel" in body
    # The answer is the cancel task's last step (the job row names BOSS before OpenAI is asked).
    answer = stage.slack.wait_for(
        lambda: next((p for p in stage.response_posts() if "Cancelling" in str(p.body)), None),
        timeout=WAIT,
    )
    assert f"`{job}` (now cancelled)" in answer.body["text"]
    assert stage.job_row(job).cancelled_by == BOSS


# --- budgets -----------------------------------------------------------------------------------


def test_budget_shows_the_workspace_and_the_asker_from_the_database(stage: Stage, team: Team):
    person = next(team.people)
    before = len(stage.provider_requests())

    shown = budget_of(stage, person)

    assert "Budget for" in shown
    assert "*This workspace*" in shown and "of $1,000.00" in shown
    assert "*You*\nspent $0.00 · committed $0.00 · *$1.00 left* of $1.00" in shown
    assert len(stage.provider_requests()) == before, "answered without calling OpenAI"


def test_a_start_over_the_persons_budget_is_refused_with_what_is_left(stage: Stage, team: Team):
    person = next(team.people)
    allowed(stage, team)
    file = shared(stage, costly_jsonl(600), user=person)

    stage.command("start", user=person)

    refusal = stage.ephemeral("Not started", user=person, timeout=WAIT)
    assert "only $1.00 is left of your $1.00 budget" in refusal.text
    assert "it is estimated at $1." in refusal.text
    assert stays(lambda: stage.provider_calls(*JOB_CREATE) == [], 1.0)
    assert len(stage.thread(file.ts)) == 1


def test_the_actual_cost_is_booked_when_the_job_ends(stage: Stage, team: Team):
    person = next(team.people)
    allowed(stage, team)
    file = shared(stage, user=person)
    # Frozen until the commitment is read: a job that ran to its end on its own (in well under a
    # second) could be booked by the follower first, and the commitment would already be gone.
    stage.openai.script = JobScript(manual=True)

    stage.command("start", user=person)
    said = everything_said(said_in(stage, file.ts, "started by"))
    job = job_id(said)
    committed = budget_of(stage, person)
    stage.openai.finish(provider_job_id(said))
    stage.slack.wait_for(lambda: stage.job_row(job).actual_cost_usd is not None, timeout=WAIT)
    row = stage.job_row(job)
    ended = budget_of(stage, person)

    assert row.actual_cost_usd is not None and row.trained_tokens
    price = Decimal("3.0")  # gpt-4o-mini training, per 1M tokens
    assert row.actual_cost_usd == (row.trained_tokens * price / 1_000_000).quantize(
        Decimal("0.0001")
    )
    assert row.estimated_cost_usd is not None
    assert f"committed {_usd(row.estimated_cost_usd)}" in committed.split("*You*")[1]
    yours = ended.split("*You*")[1]
    assert f"spent {_usd(row.actual_cost_usd)} · committed $0.00" in yours
    assert f"*{_usd(Decimal(1) - row.actual_cost_usd)} left*" in yours


# --- approvals ---------------------------------------------------------------------------------


def test_a_costly_job_waits_and_only_an_admins_click_starts_it_once(stage: Stage, team: Team):
    person, file, job = waiting_job(stage, team)
    request = request_for(stage, job)
    assert f"<@{person}>" in everything_said(request)
    row = stage.job_row(job)
    assert row.status == "awaiting_approval" and row.estimated_cost_usd is not None
    assert Decimal("0.5") < row.estimated_cost_usd < Decimal("1")
    committed = f"committed {_usd(row.estimated_cost_usd)}"
    assert committed in budget_of(stage, person).split("*You*")[1]
    assert stage.provider_calls(*JOB_CREATE) == []

    stage.slack.click_button(BOB, ADMIN_CHANNEL, request.ts, APPROVE)
    refused = ephemeral_in(stage, ADMIN_CHANNEL, BOB, "Only tunebot admins may")
    assert f"<@{BOSS}>" in refused
    assert stays(lambda: stage.provider_calls(*JOB_CREATE) == [], 1.0)

    hold_edits(stage)
    stage.slack.click_button(ADMIN, ADMIN_CHANNEL, request.ts, APPROVE)
    stage.slack.click_button(ADMIN, ADMIN_CHANNEL, request.ts, APPROVE)

    announced = everything_said(said_in(stage, file.ts, "started by"))
    assert job in announced and f"started by <@{person}>" in announced
    assert ephemeral_in(stage, ADMIN_CHANNEL, ADMIN, f"`{job}` was already approved")
    assert stays(lambda: len(stage.provider_calls(*JOB_CREATE)) == 1, 1.5)
    (created,) = stage.provider_jobs()
    assert created["metadata"] == {"tunebot_job": job}
    assert provider_job_id(announced) == created["id"]
    row = stage.job_row(job)
    assert row.approved_by == ADMIN and row.provider_job_id == created["id"]
    shown = edited_to_say(stage, ADMIN_CHANNEL, request.ts, "Approved")
    assert f"by <@{ADMIN}>" in everything_said(shown) and not buttons(shown)
    assert "was approved" in everything_said(said_in(stage, file.ts, "was approved"))


def test_an_approval_the_moment_the_request_shows_still_announces_the_start(
    stage: Stage, team: Team
):
    """Slack shows a message before the app hears back that it was posted. Here each post
    reaches the app a second late and an admin approves as soon as the request shows: the
    requester's thread still gets the start, the waiting message the decision, and the request
    loses its buttons (the app once took the waiting message, not yet recorded, for the start's
    announcement and never announced it)."""
    person = next(team.people)
    allowed(stage, team)
    file = shared(stage, costly_jsonl(300), user=person)
    stage.slack.inject("chat.postMessage", late=1.0, count=2)

    assert stage.command("start", user=person)[0] == 200
    request = stage.slack.wait_for(
        lambda: next(
            (
                m
                for m in stage.slack.messages(ADMIN_CHANNEL)
                if m.by_app and f"<@{person}>" in everything_said(m) and APPROVE in buttons(m)
            ),
            None,
        ),
        timeout=WAIT,
    )
    stage.slack.click_button(ADMIN, ADMIN_CHANNEL, request.ts, APPROVE)

    announced = everything_said(said_in(stage, file.ts, "started by"))
    job = job_id(announced)
    assert job in everything_said(request) and f"started by <@{person}>" in announced
    assert f"was approved by <@{ADMIN}>" in everything_said(said_in(stage, file.ts, "was approved"))
    assert not any("waits for an admin" in everything_said(m) for m in stage.thread(file.ts))
    shown = edited_to_say(stage, ADMIN_CHANNEL, request.ts, "Approved")
    assert not buttons(shown)
    assert stays(lambda: len(stage.provider_calls(*JOB_CREATE)) == 1, 1.0)


def test_a_rejection_tells_the_requester_naming_the_admin(stage: Stage, team: Team):
    person, file, job = waiting_job(stage, team)
    request = request_for(stage, job)

    hold_edits(stage)
    stage.slack.click_button(OWNER, ADMIN_CHANNEL, request.ts, REJECT)
    stage.slack.click_button(BOSS, ADMIN_CHANNEL, request.ts, APPROVE)
    told = everything_said(said_in(stage, file.ts, "Nothing was started or spent"))

    assert f"<@{person}>, your fine-tune `{job}`" in told
    assert f"was rejected by <@{OWNER}>" in told
    assert ephemeral_in(stage, ADMIN_CHANNEL, BOSS, f"`{job}` was already rejected by <@{OWNER}>")
    assert stays(lambda: stage.provider_calls(*JOB_CREATE) == [], 1.0)
    assert stage.job_row(job).status == "rejected"
    shown = edited_to_say(stage, ADMIN_CHANNEL, request.ts, "Rejected")
    assert not buttons(shown)
    assert "committed $0.00" in budget_of(stage, person).split("*You*")[1]


def test_cancelling_a_waiting_job_withdraws_its_request_and_says_so_where_it_waited(
    stage: Stage, team: Team
):
    person, file, job = waiting_job(stage, team)
    request = request_for(stage, job)
    waiting = said_in(stage, file.ts, "waits for an admin's approval")

    assert stage.command(f"cancel {job}", user=person)[0] == 200

    assert f"`{job}` (now cancelled)" in str(stage.private_answer(person, job, WAIT).body["text"])
    shown = edited_to_say(stage, ADMIN_CHANNEL, request.ts, "Withdrawn")
    assert f"by <@{person}>" in everything_said(shown) and not buttons(shown)
    told = edited_to_say(stage, stage.channel, waiting.ts, "was withdrawn")
    assert f"by <@{person}>" in everything_said(told)
    assert stage.job_row(job).status == "cancelled"
    assert stays(lambda: stage.provider_calls(*JOB_CREATE) == [], 0.5)
    assert "committed $0.00" in budget_of(stage, person).split("*You*")[1]


def test_without_an_admin_channel_the_request_goes_to_each_admin_directly(tmp_path: Path):
    admins = ["U0BOSS1", "U0BOSS2"]
    settings = {
        "TUNEBOT_POLL_SECONDS": "3600",
        # A Discord admin too, as when one process serves both: Slack never asks after them.
        "TUNEBOT_ADMINS": ",".join([*admins, "412345678901234567"]),
        "TUNEBOT_APPROVAL_USD": "0",
    }
    with deployment_with("sqlite", tmp_path, settings) as deployment:
        for admin in admins:
            deployment.slack.add_user(admin, admin.lower())
        stage = Stage(
            slack=deployment.slack,
            openai=deployment.openai,
            bot=deployment.bot,
            database_url=deployment.database_url,
        ).begin()
        try:
            file = shared(stage)
            stage.command("start")
            job = job_id(everything_said(said_in(stage, file.ts, "waits for an admin")))

            def request_to(admin: str) -> Message:
                return stage.slack.wait_for(
                    lambda: next(
                        (m for m in stage.slack.messages(admin) if APPROVE in buttons(m)), None
                    ),
                    timeout=WAIT,
                )

            asked = {admin: request_to(admin) for admin in admins}
            stage.slack.click_button(
                admins[1], asked[admins[1]].channel, asked[admins[1]].ts, APPROVE
            )

            said_in(stage, file.ts, "started by")
            assert len(stage.provider_calls(*JOB_CREATE)) == 1
            for admin in admins:
                assert job in everything_said(asked[admin])
                stage.slack.wait_for(
                    lambda admin=admin: (
                        "Approved" in everything_said(stage.slack.messages(admin)[-1])
                    ),
                    timeout=WAIT,
                )
        except BaseException:
            print(stage.log())  # a deployment of its own: no fixture prints its bot's log
            raise
        finally:
            stage.close()


def _usd(amount: Decimal) -> str:
    """Dollars as a person reads them in Slack (to the cent; `<` escaped in mrkdwn)."""
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return "&lt;$0.01" if amount > 0 and cents == 0 else f"${cents:,.2f}"
