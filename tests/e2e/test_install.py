"""Distributing the app: workspaces install it through OAuth, and each is then served with its
own bot token, by the real `tunebot serve` in OAuth mode (no SLACK_BOT_TOKEN at all).

A test acts as the browser: `GET /slack/install` (which sets the state cookie), Slack's
authorize page (where the person signed into a workspace clicks "Allow"), then the app's
redirect URI with the code, the state and the cookie. The Slack emulator serves both workspaces
from one API URL, as Slack does, and tells them apart by token only: a report posted with the
wrong token would land in the other workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine, select

from storage.db import make_engine
from storage.installations import slack_bots, slack_installations
from storage.models import Job, Task
from tests.e2e.deployment import FAST_JOBS
from tests.e2e.helpers import (
    JOB_CREATE,
    chat_jsonl,
    dataset_id,
    everything_said,
    job_id,
    stays,
)
from tests.e2e.process import (
    OPENAI_KEY,
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
    free_port,
)
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator
from tests.emulators.slack_emulator import (
    ALICE,
    GENERAL,
    Message,
    SlackEmulator,
    SlackWorkspace,
)

TEAM_A = "T0AAAAAAA"
TEAM_B = "T0BBBBBBB"
STATE_COOKIE = "slack-app-oauth-state"
CANCEL = ("POST", r"/v1/fine_tuning/jobs/[^/]+/cancel")


class TaskState(NamedTuple):
    status: str
    attempts: int
    last_error: str | None


@dataclass
class Distributed:
    """The bot in OAuth mode, Slack with two workspaces not yet installed, and the database."""

    bot: BotProcess
    slack: SlackEmulator
    a: SlackWorkspace
    b: SlackWorkspace
    openai: OpenAIEmulator
    engine: Engine

    def bots(self) -> dict[str, str]:
        """team id → stored bot token, from the installation store's table."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(slack_bots.c.team_id, slack_bots.c.bot_token))
            return {str(team): str(token) for team, token in rows}

    def installations(self) -> list[str]:
        with self.engine.connect() as connection:
            return [str(t) for t in connection.scalars(select(slack_installations.c.team_id))]

    def task(self, key: str) -> TaskState | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(Task.status, Task.attempts, Task.last_error).where(Task.key == key)
            ).first()
        return TaskState(str(row[0]), int(row[1]), row[2]) if row else None

    def jobs_of(self, team: str) -> int:
        with self.engine.connect() as connection:
            return len(list(connection.scalars(select(Job.id).where(Job.workspace_id == team))))


@pytest.fixture
def distributed(database_url: str, tmp_path: Path) -> Iterator[Distributed]:
    with (
        SlackEmulator(signing_secret=SIGNING_SECRET, team_id=TEAM_A) as slack,
        OpenAIEmulator(api_key=OPENAI_KEY, script=FAST_JOBS) as openai,
    ):
        # The emulator's first workspace comes installed for the single-token tests; here it is
        # one more workspace that has not installed the app yet.
        slack.uninstall()
        b = slack.add_workspace(TEAM_B)
        port = free_port()
        bot = BotProcess(
            env=bot_environment(
                slack_api_url=slack.api_url,
                file_host=slack.file_host,
                openai_base_url=openai.base_url,
                database_url=database_url,
                data_dir=tmp_path,
                extra={
                    "SLACK_BOT_TOKEN": "",
                    "SLACK_CLIENT_ID": slack.client_id,
                    "SLACK_CLIENT_SECRET": slack.client_secret,
                    "SLACK_AUTHORIZE_URL": slack.authorize_url,
                    "TUNEBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
                    "TUNEBOT_POLL_SECONDS": "3600",
                },
            ),
            log_path=tmp_path / "tunebot.log",
            port=port,
        )
        bot.start()
        slack.app_url = bot.events_url
        engine = make_engine(database_url)
        try:
            yield Distributed(bot, slack, slack, b, openai, engine)
        finally:
            engine.dispose()
            bot.stop()


# -- the browser -----------------------------------------------------------------------------


@dataclass
class Started:
    """What `GET /slack/install` gave the browser: where to go, and the state cookie."""

    authorize_url: str
    state: str
    cookie: str


def begin_install(bot: BotProcess) -> Started:
    answer = httpx.get(f"{bot.url}/slack/install", timeout=10)
    assert answer.status_code == 302, answer.text
    cookie = SimpleCookie()
    cookie.load(answer.headers["set-cookie"])
    location = answer.headers["location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    return Started(location, state, cookie[STATE_COOKIE].value)


def allow(started: Started, team: str) -> str:
    """The person signed into `team` clicks Allow; returns the app URL Slack redirects to."""
    page = httpx.get(f"{started.authorize_url}&team={team}", timeout=10)
    assert page.status_code == 302, page.text
    return page.headers["location"]


def come_back(redirect: str, cookie: str | None) -> httpx.Response:
    headers = {"Cookie": f"{STATE_COOKIE}={cookie}"} if cookie is not None else {}
    return httpx.get(redirect, headers=headers, timeout=10)


def install(setup: Distributed, workspace: SlackWorkspace) -> None:
    started = begin_install(setup.bot)
    done = come_back(allow(started, workspace.team_id), started.cookie)
    assert done.status_code == 200, done.text
    assert workspace.installed


# -- what each workspace sees ------------------------------------------------------------------


def report_in(workspace: SlackWorkspace, content: bytes) -> tuple[Message, str]:
    """Share a training file in the workspace; its report, and the file's thread ts."""
    shared = workspace.share_file(ALICE, GENERAL, "train.jsonl", content)
    thread = str(shared["shares"]["public"][GENERAL][0]["ts"]) if "shares" in shared else None
    found = workspace.wait_for(
        lambda: [m for m in workspace.messages(GENERAL) if m.by_app and "ds-" in m.text],
        timeout=15,
    )
    assert thread is None or found[-1].thread_ts == thread
    return found[-1], str(found[-1].thread_ts)


def tokens_used(workspace: SlackWorkspace, method: str) -> set[str | None]:
    return {call.token for call in workspace.calls_to(method)}


# -- installing ----------------------------------------------------------------------------------


def test_two_workspaces_install_and_each_is_answered_with_its_own_token(
    distributed: Distributed,
):
    a, b = distributed.a, distributed.b
    started = begin_install(distributed.bot)
    query = parse_qs(urlsplit(started.authorize_url).query)
    assert started.authorize_url.startswith(distributed.slack.authorize_url)
    assert query["client_id"] == [distributed.slack.client_id]
    assert "files:read" in query["scope"][0].split(",")
    assert query["redirect_uri"] == [f"{distributed.bot.url}/slack/oauth_redirect"]
    assert started.state == started.cookie

    assert come_back(allow(started, a.team_id), started.cookie).status_code == 200
    install(distributed, b)

    assert distributed.bots() == {TEAM_A: a.bot_token, TEAM_B: b.bot_token}
    assert a.bot_token != b.bot_token
    report_a, _ = report_in(a, chat_jsonl())
    report_b, _ = report_in(b, chat_jsonl())
    assert report_a.by_app and report_b.by_app
    assert tokens_used(a, "chat.postMessage") == {a.bot_token}
    assert tokens_used(b, "chat.postMessage") == {b.bot_token}
    assert len([m for m in a.messages(GENERAL) if m.by_app]) == 1, "nothing of B's landed in A"
    assert len([m for m in b.messages(GENERAL) if m.by_app]) == 1
    downloads = {d["authorized"] for w in (a, b) for d in w.downloads}
    assert downloads == {True}, "each file was downloaded with its own workspace's token"
    log = distributed.bot.log()
    assert a.bot_token not in log and b.bot_token not in log
    assert distributed.slack.client_secret not in log


def test_a_command_from_one_workspace_cannot_see_or_touch_anothers_job_or_dataset(
    distributed: Distributed,
):
    a, b = distributed.a, distributed.b
    install(distributed, a)
    install(distributed, b)
    distributed.openai.script = JobScript(manual=True)
    report, thread = report_in(a, chat_jsonl())
    dataset = dataset_id(report)
    a.slash_command(ALICE, GENERAL, f"start {dataset}")
    started = a.wait_for(
        lambda: [m for m in a.messages(GENERAL, thread_ts=thread) if "job-" in m.text],
        timeout=15,
    )
    job = job_id(everything_said(started[-1]))
    creates = distributed.openai.count(*JOB_CREATE)
    b_posts = len(b.calls_to("chat.postMessage"))

    _, status = b.slash_command(ALICE, GENERAL, f"status {job}")
    b.slash_command(ALICE, GENERAL, f"cancel {job}")
    b.slash_command(ALICE, GENERAL, f"start {dataset}")

    assert f"no job '{job}' here" in status
    cancelled = b.wait_for(
        lambda: [p for p in b.response_posts if job in str(p.body.get("text"))], timeout=10
    )
    assert ":grey_question:" in str(cancelled[0].body["text"])
    refused = b.wait_for(
        lambda: [e for e in b.ephemerals if dataset in e.text and "Not started" in e.text],
        timeout=10,
    )
    assert refused and "here" in refused[0].text
    assert stays(lambda: distributed.openai.count(*CANCEL) == 0, seconds=1.0)
    assert distributed.openai.count(*JOB_CREATE) == creates
    assert distributed.jobs_of(TEAM_B) == 0
    assert len(b.calls_to("chat.postMessage")) == b_posts, "nothing posted in B's channels"
    assert tokens_used(b, "chat.postEphemeral") == {b.bot_token}


def test_a_forged_reused_or_cookieless_state_installs_nothing(distributed: Distributed):
    a, b = distributed.a, distributed.b
    slack = distributed.slack

    forged = begin_install(distributed.bot)
    redirect = allow(forged, b.team_id).replace(f"state={forged.state}", "state=forged-state")
    with_forged_state = come_back(redirect, "forged-state")

    stolen = begin_install(distributed.bot)  # an attacker's state, in someone else's browser
    without_cookie = come_back(allow(stolen, b.team_id), None)

    assert with_forged_state.status_code >= 400 and without_cookie.status_code >= 400
    assert slack.calls_to("oauth.v2.access") == [] and b.calls_to("oauth.v2.access") == []
    assert distributed.bots() == {} and not b.installed

    install(distributed, a)
    reused = begin_install(distributed.bot)
    redirect = allow(reused, a.team_id)
    assert come_back(redirect, reused.cookie).status_code == 200
    installs = distributed.installations()

    replayed = come_back(redirect, reused.cookie)

    assert replayed.status_code >= 400
    assert distributed.installations() == installs
    assert len(a.calls_to("oauth.v2.access")) == 2, "the replay never reached Slack"


# -- uninstalling and restarting -----------------------------------------------------------------


def test_an_uninstalled_workspace_is_forgotten_and_its_queued_work_ends_without_a_post(
    distributed: Distributed,
):
    a, b = distributed.a, distributed.b
    install(distributed, a)
    install(distributed, b)
    # B's file is checked after a files.info call that Slack keeps rate-limiting: the task
    # waits in the queue for its next attempt while B removes the app.
    b.rate_limit("files.info", per_minute=0, retry_after=1)
    shared = b.share_file(ALICE, GENERAL, "train.jsonl", chat_jsonl(), partial=True)
    key = f"intake:{TEAM_B}:{shared['id']}"
    b.wait_for(lambda: (t := distributed.task(key)) is not None and t.last_error, timeout=15)
    waiting = distributed.task(key)
    assert waiting is not None and waiting.status == "pending"

    deliveries = b.uninstall()

    assert [d.status for d in deliveries] == [200, 200]
    assert distributed.bots() == {TEAM_A: a.bot_token}
    assert TEAM_B not in distributed.installations()
    ended = b.wait_for(
        lambda: (t := distributed.task(key)) is not None and t.status != "pending" and t,
        timeout=30,
    )
    assert ended.status == "failed"
    assert "not installed" in str(ended.last_error)
    assert b.calls_to("chat.postMessage") == [] and b.calls_to("chat.postEphemeral") == []
    report, _ = report_in(a, chat_jsonl())
    assert report.by_app, "the other workspace is served as before"
    log = distributed.bot.log()
    assert "abandoned" in log and "Traceback" not in log


def test_installations_survive_a_restart(distributed: Distributed):
    a, b = distributed.a, distributed.b
    install(distributed, a)
    install(distributed, b)

    distributed.bot.restart()

    assert distributed.bots() == {TEAM_A: a.bot_token, TEAM_B: b.bot_token}
    report_a, _ = report_in(a, chat_jsonl())
    report_b, _ = report_in(b, chat_jsonl())
    assert report_a.by_app and report_b.by_app
    assert tokens_used(a, "chat.postMessage") == {a.bot_token}
    assert tokens_used(b, "chat.postMessage") == {b.bot_token}
