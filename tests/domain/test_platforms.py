"""Which front end a workspace's rows belong to, and the follower's queries split by it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import Accounts
from finetuning.datasets.models import default_catalog
from finetuning.follow.outbox import Outbox
from finetuning.jobs import JobService
from finetuning.platforms import Platform, discord_workspace, guild_of, people_on, platform_of
from storage.models import Job, Notice
from storage.types import utcnow
from tests.fixtures.rows import dataset_row
from tests.follow.harness import library_in


def test_ids_say_their_platform() -> None:
    assert platform_of("T0123ABC") is Platform.SLACK
    assert platform_of("E0ENTERPRISE") is Platform.SLACK
    assert platform_of(discord_workspace(81234567890123456)) is Platform.DISCORD
    assert guild_of("discord:81234567890123456") == 81234567890123456
    with pytest.raises(ValueError, match="not a Discord workspace"):
        guild_of("T0123ABC")


def seed(factory: sessionmaker[Session], workspace: str, n: int) -> int:
    with factory.begin() as session:
        dataset = dataset_row(workspace, f"{n:064d}")
        session.add(dataset)
        session.flush()
        job = Job(
            workspace_id=workspace,
            dataset_id=dataset.id,
            idempotency_key=f"k{n}",
            base_model="gpt-4o-mini-2024-07-18",
            status="running",
            provider_job_id=f"ftjob-{n}",
            status_message_ts=f"{n}.0",
            channel_id="C1",
        )
        session.add(job)
        session.flush()
        session.add(Notice(job_id=job.id, kind="succeeded"))
        return job.id


def test_the_follower_queries_keep_one_platforms_jobs(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    jobs = JobService(
        session_factory,
        library_in(session_factory, tmp_path),
        Accounts(None, operator=None),
        default_catalog(),
        "gpt-4o-mini-2024-07-18",
        audit=AuditLog(session_factory),
    )
    slack = seed(session_factory, "T1", 1)
    discord = seed(session_factory, discord_workspace(42), 2)
    since = utcnow() - timedelta(hours=1)
    outbox = Outbox(session_factory)

    def ids(platform: Platform | None) -> tuple[list[int], list[int]]:
        shown = [job.id for job in jobs.with_messages(since, platform=platform)]
        owed = [notice.job.id for notice in outbox.owed(platform=platform)]
        return shown, owed

    assert ids(Platform.SLACK) == ([slack], [slack])
    assert ids(Platform.DISCORD) == ([discord], [discord])
    assert ids(None) == ([slack, discord], [slack, discord])


def test_a_shared_admin_list_is_split_by_platform_in_its_given_order() -> None:
    admins = ["U024BE7LH", "412345678901234567", "W012A3CDE", "112233445566778899", "U024BE7LH"]
    assert people_on(Platform.SLACK, admins) == ["U024BE7LH", "W012A3CDE"]
    assert people_on(Platform.DISCORD, admins) == ["412345678901234567", "112233445566778899"]
    assert people_on(Platform.DISCORD, ["١٢٣"]) == [], "digits of other scripts are no snowflake"
