"""The Discord side of following jobs (filled in below the skeleton)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from finetuning.credentials import Accounts
from finetuning.follow.outbox import Outbox
from finetuning.jobs import JobService
from handlers.discord.bridge import DiscordBridge
from storage.types import utcnow

log = logging.getLogger(__name__)


@dataclass
class DiscordFollowNotifier:
    """Brings Discord up to date with what the follower stored."""

    bridge: DiscordBridge
    jobs: JobService
    outbox: Outbox
    factory: sessionmaker[Session]
    accounts: Accounts
    min_edit_interval: timedelta = timedelta(seconds=10)
    timing_refresh: timedelta = timedelta(minutes=5)
    clock: Callable[[], datetime] = utcnow

    def run(self) -> None:
        """One round (the scheduler calls it after each follower cycle)."""
