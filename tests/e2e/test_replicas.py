"""Two replicas on one PostgreSQL database: exactly one follows the jobs, and when it dies the
other takes over, so a job's outcome is still told once.

Two real `tunebot serve` processes share the database, the data folder (as replicas behind a
load balancer share a volume) and both emulators. Their follower holds a lease that lasts 1.25
poll intervals and is renewed every half interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.models import Lease
from tests.e2e.helpers import Stage, everything_said
from tests.e2e.process import BotProcess, bot_environment, free_port
from tests.e2e.test_follow import FROZEN, OUTCOME_TIMEOUT, notices, start_job, the_notice
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.emulators.slack_emulator import SlackEmulator

POLL_SECONDS = 1
TAKEOVER_LIMIT = 2 * POLL_SECONDS + 0.5
"""Two poll intervals, and a little for a loaded machine."""
LISTING = r"/v1/fine_tuning/jobs"
"""One page of the jobs listing: what the follower asks once per poll."""
WINDOW = 4.0


@pytest.fixture
def replicas(
    slack: SlackEmulator, openai_api: OpenAIEmulator, postgresql_url: str, tmp_path: Path
) -> Iterator[tuple[BotProcess, BotProcess]]:
    """Two servers on one database, started together; Slack talks to the first."""
    shared = tmp_path / "data"
    shared.mkdir()
    bots = tuple(
        BotProcess(
            env=bot_environment(
                slack_api_url=slack.api_url,
                file_host=slack.file_host,
                openai_base_url=openai_api.base_url,
                database_url=postgresql_url,
                data_dir=shared,
                extra={"TUNEBOT_POLL_SECONDS": str(POLL_SECONDS)},
            ),
            log_path=tmp_path / f"replica-{n}.log",
            port=free_port(),
        )
        for n in (1, 2)
    )
    errors: list[BaseException] = []

    def start(bot: BotProcess) -> None:
        try:
            bot.start(timeout=60)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    starters = [threading.Thread(target=start, args=(bot,)) for bot in bots]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    try:
        if errors:
            raise errors[0]
        slack.app_url = bots[0].events_url
        yield bots[0], bots[1]
    finally:
        for bot in bots:
            bot.stop()


def lease_holder(database_url: str) -> str:
    """Who holds the follower lease (or held it last)."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return session.scalars(select(Lease.holder).where(Lease.name == "follower")).one()
    finally:
        engine.dispose()


def pid_of(holder: str) -> int:
    """Holders are named `host:pid:nonce`."""
    return int(holder.split(":")[-2])


def listings(openai: OpenAIEmulator, since: float) -> int:
    return openai.count("GET", LISTING, since=since)


def test_one_replica_follows_and_the_other_takes_over_when_it_dies(
    replicas: tuple[BotProcess, BotProcess],
    slack: SlackEmulator,
    openai_api: OpenAIEmulator,
    postgresql_url: str,
):
    first, second = replicas
    stage = Stage(slack=slack, openai=openai_api, bot=first, database_url=postgresql_url).begin()
    try:
        started = start_job(stage, FROZEN)
        openai_api.set_status(started.provider_id, "running")
        by_pid = {bot.process.pid: bot for bot in replicas if bot.process is not None}

        since = time.time()
        time.sleep(WINDOW)
        polled = listings(openai_api, since)
        holder = lease_holder(postgresql_url)

        assert 2 <= polled <= WINDOW / POLL_SECONDS + 1, (
            f"{polled} listings in {WINDOW} s: one poller makes about one a second"
        )
        assert pid_of(holder) in by_pid, f"the lease is held by {holder}, neither replica"
        leader = by_pid[pid_of(holder)]
        survivor = second if leader is first else first

        leader.kill()
        killed_at = time.time()

        def another_holder() -> str | None:
            found = lease_holder(postgresql_url)
            return found if found != holder else None

        new_holder = str(stage.slack.wait_for(another_holder, timeout=TAKEOVER_LIMIT + 5))
        took_over_in = time.time() - killed_at
        stage.slack.wait_for(lambda: listings(openai_api, killed_at), timeout=5)

        assert survivor.process is not None and pid_of(new_holder) == survivor.process.pid
        assert took_over_in <= TAKEOVER_LIMIT, f"took over after {took_over_in:.2f} s"
        since = time.time()
        time.sleep(2 * POLL_SECONDS)
        assert listings(openai_api, since) >= 1, "the survivor keeps polling"

        slack.app_url = survivor.events_url
        assert notices(stage, started) == []
        openai_api.finish(started.provider_id)
        notice = the_notice(stage, started, timeout=OUTCOME_TIMEOUT)
        assert f"`{started.job}` succeeded" in everything_said(notice)
    finally:
        stage.close()
        for bot in replicas:
            print(f"--- {bot.log_path.name}\n{bot.log()[-4000:]}")
