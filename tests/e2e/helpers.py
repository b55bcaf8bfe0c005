"""What end-to-end tests share: training files, a per-test corner of the workspace, and waiting.

The suite runs most tests against one `tunebot serve` per database (starting a process costs
seconds). Each test therefore works in a channel of its own (`Stage.channel`) and with bytes of
its own (every builder mixes in a salt: datasets are deduplicated by content per workspace), and
reads the emulators' logs only from where it started.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finetuning.follow.follower import FOLLOWED
from storage.db import make_engine
from storage.models import Dataset, Job, Task, TaskStatus
from tests.e2e.process import BotProcess
from tests.emulators.openai_emulator import OpenAIEmulator, RecordedRequest
from tests.emulators.slack.delivery import sign
from tests.emulators.slack_emulator import (
    ALICE,
    BOB,
    BOT_USER_ID,
    Delivery,
    Ephemeral,
    Message,
    ResponsePost,
    SlackEmulator,
)


def call_failed(request: pytest.FixtureRequest) -> bool:
    """Whether the test's own body failed (set by the e2e conftest's report hook), so a fixture
    prints the bot's log only then."""
    report = getattr(request.node, "rep_call", None)
    return bool(report is not None and report.failed)


@contextmanager
def reading(database_url: str) -> Iterator[Session]:
    """A session on the bot's database for a test to look at its rows; the engine is its own
    and disposed after, so a test leaves no connection behind in the shared PostgreSQL."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


JOB_CREATE = ("POST", "/v1/fine_tuning/jobs")
FILE_UPLOAD = ("POST", "/v1/files")
START_ACTION = "start_finetune"
FIX_ACTION = "fix_dataset"
_DATASET_ID = re.compile(r"\bds-\d+\b")
_JOB_ID = re.compile(r"\bjob-\d+\b")
_PROVIDER_JOB_ID = re.compile(r"\bftjob-[A-Za-z0-9]+\b")


# -- training files -------------------------------------------------------------------------


def salt() -> str:
    return uuid.uuid4().hex[:10]


def chat_jsonl(count: int = 12, tag: str | None = None) -> bytes:
    """A valid chat dataset of `count` examples, unique to this call unless `tag` is given."""
    tag = tag or salt()
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "system", "content": "You answer briefly."},
                    {"role": "user", "content": f"[{tag}] What is {i} + {i}?"},
                    {"role": "assistant", "content": f"{i + i}"},
                ]
            }
        )
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def chat_jsonl_with_errors(count: int = 12) -> tuple[bytes, list[int]]:
    """A chat dataset with two errors: (bytes, the 1-based lines that hold them).

    Line 3 is not JSON at all; line 7 has no assistant message to learn from.
    """
    lines = chat_jsonl(count).decode().splitlines()
    lines[2] = '{"messages": [{"role": "user", "content": "cut off'
    lines[6] = json.dumps({"messages": [{"role": "user", "content": f"lonely {salt()}"}]})
    return ("\n".join(lines) + "\n").encode(), [3, 7]


def prompt_completion_csv(count: int = 20) -> bytes:
    """A legacy prompt/completion spreadsheet: valid, with conventions "Fix" can apply."""
    tag = salt()
    rows = "".join(f"Question {i} [{tag}]?,Answer {i}\n" for i in range(count))
    return f"prompt,completion\n{rows}".encode()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# -- reading what the app posted ------------------------------------------------------------


def block_texts(blocks: list[dict[str, Any]] | None) -> str:
    """Every text in a message's blocks, in order, joined by newlines: what a person reads."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            text = node.get("text")
            if isinstance(text, str):
                found.append(text)
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks or [])
    return "\n".join(found)


def everything_said(message: Message | Ephemeral) -> str:
    return f"{message.text}\n{block_texts(message.blocks)}"


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    """The message's buttons by action_id."""
    found: dict[str, dict[str, Any]] = {}
    for block in message.blocks or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button":
                found[str(element["action_id"])] = element
    return found


def dataset_id(message: Message) -> str:
    """The `ds-N` a report is about (its header names it)."""
    header = next((b for b in message.blocks or [] if b.get("type") == "header"), None)
    text = header["text"]["text"] if header else message.text
    match = _DATASET_ID.search(text)
    assert match, f"no dataset id in {text!r}"
    return match.group(0)


def job_id(text: str) -> str:
    match = _JOB_ID.search(text)
    assert match, f"no job id in {text!r}"
    return match.group(0)


def provider_job_id(text: str) -> str:
    match = _PROVIDER_JOB_ID.search(text)
    assert match, f"no provider job id in {text!r}"
    return match.group(0)


# -- waiting ----------------------------------------------------------------------------------


def stays(predicate: Callable[[], bool], seconds: float = 0.6) -> bool:
    """True when `predicate()` holds throughout `seconds`: for "nothing else happens"."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(0.05)
    return predicate()


# -- signed requests a test builds itself ----------------------------------------------------


def post_signed(
    url: str,
    body: bytes,
    *,
    secret: str,
    content_type: str = "application/json",
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST `body` signed as Slack signs it (with any secret and timestamp a test picks)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    sent = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(secret, stamp, body),
        **(headers or {}),
    }
    return httpx.post(url, content=body, headers=sent, timeout=10)


def replay(slack: SlackEmulator, delivery: Delivery, *, retry_num: int = 1) -> httpx.Response:
    """Send a request Slack already delivered once more, byte for byte, freshly signed and
    marked as Slack marks a retry: a duplicate the app must recognise."""
    assert slack.app_url is not None
    return post_signed(
        slack.app_url,
        delivery.body.encode(),
        secret=slack.signing_secret,
        content_type=delivery.headers["Content-Type"],
        headers={"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"},
    )


# -- one test's corner of a shared deployment --------------------------------------------------


@dataclass
class Shared:
    """A file a person shared: its thread's root and the file object Slack holds."""

    ts: str
    file: dict[str, Any]

    @property
    def file_id(self) -> str:
        return str(self.file["id"])


@dataclass
class Stage:
    """A running tunebot and its emulators, seen from one test: its own channel, and the logs
    from the moment the test began."""

    slack: SlackEmulator
    openai: OpenAIEmulator
    bot: BotProcess
    database_url: str
    channel: str = ""
    _requests_from: int = 0
    _jobs_from: int = 0
    _deliveries_from: int = 0
    _calls_from: int = 0
    _log_from: int = 0
    _engine: Any = field(default=None, repr=False)

    def begin(self) -> Stage:
        """Open a fresh channel (the bot, Alice and Bob in it) and mark the logs' start."""
        self.channel = f"C{uuid.uuid4().hex[:9].upper()}"
        self.slack.add_channel(
            self.channel, f"e2e-{self.channel.lower()}", members={ALICE, BOB, BOT_USER_ID}
        )
        self._requests_from = len(self.openai.requests)
        self._jobs_from = len(self.openai.app.state.jobs)
        self._deliveries_from = len(self.slack.deliveries)
        self._calls_from = len(self.slack.calls)
        self._log_from = len(self.bot.log())
        return self

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def log(self) -> str:
        """The bot's log since this test began."""
        return self.bot.log()[self._log_from :]

    # -- acting ------------------------------------------------------------------------------

    def share(self, name: str, content: bytes, *, user: str = ALICE, **options: Any) -> Shared:
        """A person drops a file into the test's channel (see `SlackEmulator.share_file`)."""
        file = self.slack.share_file(user, self.channel, name, content, **options)
        root = next(
            m
            for m in reversed(self.slack.messages(self.channel))
            if m.thread_ts is None and file["id"] in m.files
        )
        return Shared(root.ts, file)

    def command(self, text: str, *, user: str = ALICE) -> tuple[int, str]:
        return self.slack.slash_command(user, self.channel, text)

    def click(self, message: Message, action_id: str, *, user: str = ALICE) -> tuple[int, str]:
        return self.slack.click_button(user, self.channel, message.ts, action_id)

    # -- reading -----------------------------------------------------------------------------

    def thread(self, ts: str) -> list[Message]:
        """The app's replies in a thread, oldest first (the root left out)."""
        return [m for m in self.slack.messages(self.channel, thread_ts=ts) if m.ts != ts]

    def replies(self, ts: str, count: int = 1, timeout: float = 10.0) -> list[Message]:
        """Wait until the thread holds at least `count` replies; return them all."""

        def enough() -> list[Message]:
            found = self.thread(ts)
            return found if len(found) >= count else []

        return self.slack.wait_for(enough, timeout=timeout)

    def report(self, shared: Shared, timeout: float = 10.0) -> Message:
        """The first reply in a shared file's thread: its report (or why there is none)."""
        return self.replies(shared.ts, 1, timeout)[0]

    def channel_messages(self) -> list[Message]:
        return self.slack.messages(self.channel)

    def ephemerals(self, user: str = ALICE) -> list[Ephemeral]:
        return [e for e in self.slack.ephemerals if e.channel == self.channel and e.user == user]

    def ephemeral(self, contains: str = "", timeout: float = 10.0, user: str = ALICE) -> Ephemeral:
        """Wait for an ephemeral message to `user` in the channel that says `contains`."""

        def matching() -> list[Ephemeral]:
            return [e for e in self.ephemerals(user) if contains in everything_said(e)]

        return self.slack.wait_for(matching, timeout=timeout)[0]

    def response_posts(self) -> list[ResponsePost]:
        return [p for p in self.slack.response_posts if p.channel == self.channel]

    def private_answer(self, user: str, contains: str, timeout: float = 15.0) -> ResponsePost:
        """Wait for the private answer (through a response_url) to `user` that says `contains`."""
        return self.slack.wait_for(
            lambda: next(
                (
                    post
                    for post in self.response_posts()
                    if post.user == user and contains in str(post.body.get("text", ""))
                ),
                None,
            ),
            timeout=timeout,
        )

    def deliveries(self) -> list[Delivery]:
        return self.slack.deliveries[self._deliveries_from :]

    def api_calls(self, method: str) -> list[Any]:
        return [c for c in self.slack.calls[self._calls_from :] if c.method == method]

    def downloads_of(self, file_id: str) -> list[dict[str, Any]]:
        return [d for d in self.slack.downloads if d["file_id"] == file_id]

    def provider_requests(self) -> list[RecordedRequest]:
        """Requests OpenAI received since the test began."""
        return self.openai.requests[self._requests_from :]

    def provider_calls(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.provider_requests() if (r.method, r.path) == (method, path)]

    def provider_jobs(self) -> list[dict[str, Any]]:
        """Jobs created at OpenAI since the test began, oldest first."""
        state = self.openai.app.state
        with state.lock:
            return [job.to_api() for job in list(state.jobs.values())[self._jobs_from :]]

    def provider_file(self, file_id: str) -> tuple[str, bytes]:
        """(purpose, bytes) of a file uploaded to OpenAI."""
        state = self.openai.app.state
        with state.lock:
            record = state.files[file_id]
            return record.purpose, record.content

    # -- the database, read only ---------------------------------------------------------------

    def _session(self) -> Session:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return Session(self._engine)

    def datasets_with(self, content: bytes) -> int:
        """How many dataset rows hold these bytes (in any workspace)."""
        with self._session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Dataset)
                    .where(Dataset.sha256 == sha256(content))
                )
                or 0
            )

    def job_row(self, short_id: str) -> Job:
        number = int(short_id.removeprefix("job-"))
        with self._session() as session:
            return session.get_one(Job, number)

    def task_count(self) -> int:
        with self._session() as session:
            return int(session.scalar(select(func.count()).select_from(Task)) or 0)

    def pending_tasks(self) -> list[str]:
        """The kinds of the tasks the app has not finished (queued, running or to be retried)."""
        with self._session() as session:
            return list(
                session.scalars(select(Task.kind).where(Task.status == TaskStatus.PENDING.value))
            )

    def busy(self) -> list[str]:
        """What the app still has in hand: pending tasks (by kind) and jobs it still follows."""
        with self._session() as session:
            jobs = session.scalars(
                select(Job.id).where(Job.status.in_(FOLLOWED), Job.provider_job_id.is_not(None))
            )
            followed = [f"job-{job}" for job in jobs]
        return [*self.pending_tasks(), *followed]

    # -- leaving ---------------------------------------------------------------------------------

    def settle(self, timeout: float = 20.0) -> None:
        """End the jobs this test left running at OpenAI and wait until the app is idle.

        For a deployment whose follower polls often, shared by the tests of a module: what one
        test leaves in flight lands in the next one's logs, which it reads from its own start. A
        task still running after the test saw its effect (a cancel reaches OpenAI a moment after
        the job row names who cancelled) or a job still followed (read at OpenAI every interval)
        shows up there as requests that test never made.
        """

        def idle() -> bool:
            for job in self.provider_jobs():
                if job["status"] not in ("succeeded", "failed", "cancelled"):
                    self.openai.finish(str(job["id"]), "cancelled")
            return not self.busy()

        try:
            self.slack.wait_for(idle, timeout=timeout)
        except TimeoutError:
            raise AssertionError(f"still busy after the test: {self.busy()}") from None
