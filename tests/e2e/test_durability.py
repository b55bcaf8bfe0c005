"""A crash loses nothing a person sent: what Slack saw acknowledged is done after a restart.

These tests kill `tunebot serve` with SIGKILL (no shutdown code runs) and start it again on
the same database, so they use a deployment of their own (`bot`), not the shared one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.models import Dataset, Task
from tests.e2e.helpers import FIX_ACTION, chat_jsonl, prompt_completion_csv, stays
from tests.e2e.process import BotProcess
from tests.emulators.slack_emulator import ALICE, GENERAL, Message, SlackEmulator

HOLD_SECONDS = 1.0
AFTER_RESTART_TIMEOUT = 8.0


@contextmanager
def writes_blocked(database_url: str, seconds: float) -> Iterator[None]:
    """Hold the database's write lock (on the task table, for PostgreSQL) for `seconds` from
    entering the block, from another connection, as a busy moment on the database would.

    The block runs while the lock is held; the lock is let go after `seconds` even if the block
    is still running, and leaving the block waits for that.
    """
    engine = make_engine(database_url, isolation_level="AUTOCOMMIT")
    locked = threading.Event()

    def hold() -> None:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.exec_driver_sql("BEGIN")
                connection.exec_driver_sql("LOCK TABLE tasks IN EXCLUSIVE MODE")
            locked.set()
            time.sleep(seconds)
            connection.exec_driver_sql("ROLLBACK")

    holder = threading.Thread(target=hold, name="write-lock", daemon=True)
    holder.start()
    try:
        assert locked.wait(10), "could not lock the database"
        yield
    finally:
        holder.join()
        engine.dispose()


def tasks(database_url: str) -> list[str]:
    """The task rows, described for a failure message."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return [
                f"{task.kind} {task.status}, {task.attempts} attempt(s), "
                f"leased until {task.locked_until}"
                for task in session.scalars(select(Task).order_by(Task.id))
            ]
    finally:
        engine.dispose()


def dataset_count(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return len(session.scalars(select(Dataset.id)).all())
    finally:
        engine.dispose()


def all_done(database_url: str) -> bool:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            statuses = session.scalars(select(Task.status)).all()
            return bool(statuses) and all(status == "done" for status in statuses)
    finally:
        engine.dispose()


def replies(slack: SlackEmulator, ts: str) -> list[Message]:
    return [m for m in slack.messages(GENERAL, thread_ts=ts) if m.ts != ts]


def test_a_file_acknowledged_right_before_a_crash_is_reported_once(
    bot: BotProcess, slack: SlackEmulator, database_url: str
):
    """Slack will not send an acknowledged event again, so the work must be written down
    before the acknowledgement. The database is kept busy for a moment while the file is
    shared, and the process is killed the instant Slack has its answer."""
    with writes_blocked(database_url, HOLD_SECONDS):
        slack.share_file(ALICE, GENERAL, "train.jsonl", chat_jsonl())
        acknowledged = slack.deliveries[-1]
        bot.kill()
    assert acknowledged.status == 200
    root = slack.messages(GENERAL)[-1]

    bot.start()

    try:
        slack.wait_for(lambda: replies(slack, root.ts), timeout=AFTER_RESTART_TIMEOUT)
    except TimeoutError:
        pytest.fail(
            f"no report after the restart; tasks in the database: {tasks(database_url)}. "
            f"Slack had its 200 after {acknowledged.latency:.3f} s while writes were blocked "
            f"for {HOLD_SECONDS} s: the event was acknowledged before its task was written"
        )
    assert stays(lambda: len(replies(slack, root.ts)) == 1, seconds=1.0)
    assert "ds-1" in replies(slack, root.ts)[0].text


def test_a_crash_while_a_file_is_being_checked_still_reports_once(
    bot: BotProcess, slack: SlackEmulator, database_url: str
):
    """The process dies with the intake task in hand (waiting on a slow files.info); the next
    process takes the task over and the report is posted once."""
    slack.inject("files.info", delay=2.0)
    slack.share_file(ALICE, GENERAL, "train.jsonl", chat_jsonl(), partial=True)
    root = slack.messages(GENERAL)[-1]
    time.sleep(0.5)

    bot.restart()

    try:
        slack.wait_for(lambda: replies(slack, root.ts), timeout=AFTER_RESTART_TIMEOUT)
    except TimeoutError:
        pytest.fail(
            f"no report {AFTER_RESTART_TIMEOUT} s after the restart; tasks in the database: "
            f"{tasks(database_url)} (now {datetime.now(UTC):%H:%M:%S} UTC)"
        )
    assert stays(lambda: len(replies(slack, root.ts)) == 1, seconds=1.0)
    assert "ds-1" in replies(slack, root.ts)[0].text
    # One files.info from the process that died mid-call, one from the one that took over.
    assert len(slack.calls_to("files.info")) == 2


def test_a_crash_while_the_report_is_being_posted_leaves_one_report(
    bot: BotProcess, slack: SlackEmulator, database_url: str
):
    """The process dies after chat.postMessage reached Slack but before it heard back: Slack
    posts the report all the same, and the task that runs again must not post a second one."""
    slack.inject("chat.postMessage", delay=2.0)
    slack.share_file(ALICE, GENERAL, "train.jsonl", chat_jsonl())
    root = slack.messages(GENERAL)[-1]
    slack.wait_for(lambda: dataset_count(database_url) == 1, timeout=10)
    time.sleep(0.5)  # the report is now on its way, held up in chat.postMessage

    bot.restart()

    try:
        slack.wait_for(lambda: all_done(database_url), timeout=AFTER_RESTART_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"the intake task did not finish after the restart: {tasks(database_url)}")
    thread = replies(slack, root.ts)
    assert len(thread) == 1, [m.text for m in thread]
    assert "checked before" not in thread[0].text


@pytest.mark.parametrize(
    ("dies_in", "posted_by_then"),
    [("files.completeUploadExternal", 2), ("chat.postMessage", 3)],
    ids=["the fixed file", "its report"],
)
def test_a_crash_while_a_fix_is_being_posted_leaves_one_file_and_one_report(
    bot: BotProcess, slack: SlackEmulator, database_url: str, dies_in: str, posted_by_then: int
):
    """Fix and re-upload posts twice (the fixed file, then its report); the process dies after
    Slack took one of them but before it heard back. The task that runs again posts only
    what is not in the thread yet."""
    slack.share_file(ALICE, GENERAL, "legacy.csv", prompt_completion_csv(20))
    root = slack.messages(GENERAL)[-1]
    (report,) = slack.wait_for(lambda: replies(slack, root.ts), timeout=10)
    slack.inject(dies_in, late=10.0)
    slack.click_button(ALICE, GENERAL, report.ts, FIX_ACTION)
    slack.wait_for(lambda: len(replies(slack, root.ts)) == posted_by_then, timeout=10)

    bot.restart()

    try:
        slack.wait_for(lambda: all_done(database_url), timeout=AFTER_RESTART_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"the fix task did not finish after the restart: {tasks(database_url)}")
    _, upload, fixed_report = replies(slack, root.ts)
    assert stays(lambda: len(replies(slack, root.ts)) == 3, seconds=1.0)
    assert [slack.file(f)["name"] for f in upload.files] == ["legacy-fixed.jsonl"]
    assert [f.name for f in slack.uploaded_files] == ["legacy-fixed.jsonl"]
    assert "ds-2" in fixed_report.text and not fixed_report.files


def test_a_mention_acknowledged_right_before_a_crash_is_answered_after_the_restart(
    bot: BotProcess, slack: SlackEmulator, database_url: str
):
    """What a person asked a bound model survives the process: the mention's task and the
    person's message are written before Slack gets its 200, and answered after a restart."""
    slack.slash_command(ALICE, GENERAL, "use gpt-4o-mini")
    slack.wait_for(lambda: any(":link:" in m.text for m in slack.messages(GENERAL)), timeout=10)
    with writes_blocked(database_url, HOLD_SECONDS):
        ts = slack.mention(ALICE, GENERAL, "Are you still there after a crash?")
        acknowledged = slack.deliveries[-1]
        bot.kill()
    assert acknowledged.status == 200

    bot.start()

    try:
        slack.wait_for(lambda: replies(slack, ts), timeout=AFTER_RESTART_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"no answer after the restart; tasks in the database: {tasks(database_url)}")
    assert stays(lambda: len(replies(slack, ts)) == 1, seconds=1.0)
