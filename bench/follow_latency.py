"""Part 2 of the follow benchmark: from a job ending to its notice in Slack, end to end.

The real `tunebot serve` runs as a child process (SQLite, `TUNEBOT_POLL_SECONDS`, an OpenAI
webhook secret) between the Slack and OpenAI emulators, which run in this process.

Before it starts, its database gets N quiet jobs plus 2 x E jobs that will end (see
`follow_seed`: the rows `JobService.start` would have written), each job in a thread of its own in
#general with a status message posted by the bot's token, as the start task posts it. The jobs
were created 1 to 3 hours ago (spread), so their messages' "elapsed" text rolls over once a minute
at different moments, as for jobs that have been waiting a while. After the bot has drawn every
job's message once (its first edits), two phases run on the same process:

  polling   the emulator sends no webhooks; E jobs end one by one at random gaps
  webhook   the emulator posts each ending to the bot's /openai/webhooks, signed

A job ends when the bench calls `set_status(job, "succeeded")` in the emulator; its notice is the
bot's message in the job's thread carrying the notice metadata, and the time it appeared is that
message's `ts` (the emulator stamps it with the wall clock when the bot posts it). Both clocks are
this process's `time.time()`.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from follow_seed import Placement, add_dataset, add_jobs
from slack_sdk import WebClient

from handlers.slack.follow import NOTICE_EVENT
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from tests.e2e.process import (
    BOT_TOKEN,
    OPENAI_KEY,
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
    free_port,
)
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator
from tests.emulators.slack_emulator import ALICE, GENERAL, SlackEmulator

JOB_AGE = (timedelta(hours=1), timedelta(hours=3))
POLLING_GAPS_S = (0.5, 1.5)
WEBHOOK_GAPS_S = (0.5, 1.0)
WARM_UP_TIMEOUT_S = 300.0
CHECK_EVERY_S = 0.25


@dataclass
class Ending:
    row_id: int
    provider_job_id: str
    thread_ts: str
    ended_at: float = 0.0
    notice_at: float | None = None
    webhook_at: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.notice_at is None else self.notice_at - self.ended_at


@dataclass
class Phase:
    name: str
    endings: list[Ending]
    seconds: float = 0.0
    slack_calls: dict[str, int] = field(default_factory=dict)
    openai_calls: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        latencies = [e.latency for e in self.endings if e.latency is not None]
        webhook = [e.webhook_at - e.ended_at for e in self.endings if e.webhook_at is not None]
        return {
            "phase": self.name,
            "endings": len(self.endings),
            "notices_seen": len(latencies),
            "latency_s": describe(latencies),
            "webhook_delivered_s": describe(webhook) if webhook else None,
            "seconds": self.seconds,
            "slack_calls": self.slack_calls,
            "openai_calls": self.openai_calls,
            "latencies": [round(value, 3) for value in latencies],
        }


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def describe(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "mean": 0.0}
    return {
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


@dataclass
class Deployment:
    slack: SlackEmulator
    openai: OpenAIEmulator
    bot: BotProcess
    database: Path
    endings: list[Ending]


@contextmanager
def deployment(
    quiet: int, ending: int, poll_seconds: int, folder: Path, rng: random.Random
) -> Iterator[Deployment]:
    """Both emulators, a seeded database, and `tunebot serve` on it (started, healthy)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (
        SlackEmulator(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET) as slack,
        OpenAIEmulator(api_key=OPENAI_KEY, script=JobScript(manual=True)) as openai,
    ):
        openai.webhooks_enabled = False
        database = folder / "tunebot.db"
        url = f"sqlite:///{database}"
        upgrade(url)
        provider_ids = openai.create_jobs(quiet + ending, status="queued")
        placements = post_status_messages(slack, len(provider_ids))
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            dataset_id = add_dataset(factory, channel_id=GENERAL)
            rows = add_jobs(
                factory,
                dataset_id,
                provider_ids,
                placements=placements,
                age=JOB_AGE,
                rng=rng,
            )
        finally:
            engine.dispose()
        order = rng.sample(range(len(rows)), len(rows))
        endings = [
            Ending(rows[i], provider_ids[i], placements[i].thread_ts) for i in order[:ending]
        ]
        bot = BotProcess(
            env=bot_environment(
                slack_api_url=slack.api_url,
                file_host=slack.file_host,
                openai_base_url=openai.base_url,
                database_url=url,
                data_dir=folder,
                extra={
                    "TUNEBOT_POLL_SECONDS": str(poll_seconds),
                    "OPENAI_WEBHOOK_SECRET": openai.webhook_secret,
                },
            ),
            log_path=folder / "tunebot.log",
            port=free_port(),
        )
        bot.start(timeout=60)
        slack.app_url = bot.events_url
        openai.webhook_url = f"{bot.url}/openai/webhooks"
        try:
            yield Deployment(slack, openai, bot, database, endings)
        finally:
            bot.stop()


def post_status_messages(slack: SlackEmulator, count: int) -> list[Placement]:
    """For each job: the dataset's upload message (a person's) and, in its thread, the job's
    status message posted with the bot's token, as the start task does."""
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    placements: list[Placement] = []
    for index in range(count):
        thread = slack.post_as_user(ALICE, GENERAL, f"bench dataset {index}")
        posted = client.chat_postMessage(
            channel=GENERAL, thread_ts=thread, text="Starting a fine-tune…"
        )
        placements.append(Placement(GENERAL, thread, str(posted["ts"])))
    return placements


def undrawn_messages(database: Path) -> int:
    """Jobs whose message the bot has not drawn yet (read-only; WAL lets us read alongside)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        row = connection.execute(
            "SELECT count(*) FROM jobs WHERE status_message_ts IS NOT NULL "
            "AND progress_shown IS NULL"
        ).fetchone()
        return int(row[0])


def undelivered_notices(database: Path) -> int:
    """Notices the bot still owes (their chart may still be uploading after the message)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        row = connection.execute("SELECT count(*) FROM notices WHERE status != 'sent'").fetchone()
        return int(row[0])


def warm_up(stage: Deployment, poll_seconds: int) -> float:
    """Seconds until the bot has drawn every job's message once; then one more poll interval."""
    started = time.monotonic()
    while undrawn_messages(stage.database):
        if stage.bot.process is not None and stage.bot.process.poll() is not None:
            raise RuntimeError(f"tunebot exited:\n{stage.bot.log()[-4000:]}")
        if time.monotonic() - started > WARM_UP_TIMEOUT_S:
            raise TimeoutError(f"{undrawn_messages(stage.database)} messages still not drawn")
        time.sleep(0.2)
    took = time.monotonic() - started
    time.sleep(poll_seconds)
    return took


def notice_time(slack: SlackEmulator, ending: Ending) -> float | None:
    prefix = f"job-{ending.row_id} "
    for message in slack.messages(GENERAL, thread_ts=ending.thread_ts):
        metadata = message.metadata or {}
        if (
            message.by_app
            and metadata.get("event_type") == NOTICE_EVENT
            and message.text.startswith(prefix)
        ):
            return float(message.ts)
    return None


def slack_call_counts(slack: SlackEmulator) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in slack.calls:
        counts[call.method] = counts.get(call.method, 0) + 1
    return counts


def openai_call_counts(openai: OpenAIEmulator, since: float) -> dict[str, int]:
    return {
        "list_pages": openai.count("GET", r"/v1/fine_tuning/jobs(\?.*)?", since),
        "retrieve": openai.count("GET", r"/v1/fine_tuning/jobs/[^/?]+(\?.*)?", since),
        "events": openai.count("GET", r"/v1/fine_tuning/jobs/[^/]+/events(\?.*)?", since),
        "all": openai.count(None, r".*", since),
    }


def run_phase(
    stage: Deployment,
    name: str,
    endings: list[Ending],
    gaps: tuple[float, float],
    poll_seconds: int,
    rng: random.Random,
) -> Phase:
    """End the jobs one by one at random gaps; wait for every notice and its chart.

    `seconds` runs to the last notice; the call counts include the charts uploaded after it."""
    phase = Phase(name, endings)
    before = slack_call_counts(stage.slack)
    started_wall = time.time()
    started = time.monotonic()
    for ending in endings:
        time.sleep(rng.uniform(*gaps))
        ending.ended_at = time.time()
        stage.openai.set_status(ending.provider_job_id, "succeeded")
    deadline = time.monotonic() + 3 * poll_seconds + 30
    pending = list(endings)
    while pending and time.monotonic() < deadline:
        time.sleep(CHECK_EVERY_S)
        for ending in list(pending):
            ending.notice_at = notice_time(stage.slack, ending)
            if ending.notice_at is not None:
                pending.remove(ending)
    phase.seconds = time.monotonic() - started
    while undelivered_notices(stage.database) and time.monotonic() < deadline:
        time.sleep(CHECK_EVERY_S)  # let the last charts go up, so the call counts are whole
    after = slack_call_counts(stage.slack)
    phase.slack_calls = {
        method: after[method] - before.get(method, 0)
        for method in sorted(after)
        if after[method] != before.get(method, 0)
    }
    phase.openai_calls = openai_call_counts(stage.openai, started_wall)
    if name == "webhook":
        first_ok: dict[str, float] = {}
        for delivery in stage.openai.webhook_deliveries:
            if delivery.status is not None and 200 <= delivery.status < 300:
                first_ok.setdefault(delivery.job_id, delivery.time)
        for ending in endings:
            ending.webhook_at = first_ok.get(ending.provider_job_id)
    return phase


def run_size(
    size: int,
    endings: int,
    poll_seconds: int,
    folder: Path,
    seed: int,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Both phases at one N; returns their figures."""
    rng = random.Random(seed + size)
    progress(f"  N={size}: seeding {size} quiet + {2 * endings} ending jobs, starting tunebot …")
    with deployment(size, 2 * endings, poll_seconds, folder / f"e2e-{size}", rng) as stage:
        drawn = warm_up(stage, poll_seconds)
        progress(f"  N={size}: every message drawn after {drawn:.1f} s; polling phase …")
        polling = run_phase(
            stage, "polling", stage.endings[:endings], POLLING_GAPS_S, poll_seconds, rng
        )
        stage.openai.webhooks_enabled = True
        progress(f"  N={size}: webhook phase …")
        webhook = run_phase(
            stage, "webhook", stage.endings[endings:], WEBHOOK_GAPS_S, poll_seconds, rng
        )
        log = stage.bot.log()
    return {
        "size": size,
        "active_at_start": size + 2 * endings,
        "first_draw_s": drawn,
        "phases": [polling.summary(), webhook.summary()],
        "bot_log_errors": sum(
            1 for line in log.splitlines() if " ERROR " in line or "Traceback" in line
        ),
        "bot_log_warnings": sum(1 for line in log.splitlines() if " WARNING " in line),
    }
