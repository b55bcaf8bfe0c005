"""The follower's clock: APScheduler ticks; whoever holds the lease polls and notifies.

Every replica ticks twice per poll interval. The lease lasts 1.25 intervals and the holder renews
it on each tick, so when the holder dies another replica takes over within two intervals. Only
the holder polls (every interval) and delivers notices (every tick), so there is one follower
however many replicas run.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from finetuning.follow.follower import Follower
from finetuning.provider import ProviderError
from storage.leases import LeaseStore

log = logging.getLogger(__name__)

LEASE = "follower"
MAX_BACKOFF_S = 600.0


class FollowScheduler:
    """Runs the follower cycle and the front ends' notifiers on a timer."""

    def __init__(
        self,
        follower: Follower,
        notify: Callable[[], None],
        leases: LeaseStore,
        poll_seconds: float,
    ) -> None:
        self._follower = follower
        self._notify = notify
        self._leases = leases
        self._poll = poll_seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._scheduler = BackgroundScheduler(daemon=True)
        self._tick_lock = threading.Lock()
        self._again = threading.Event()
        self._last_poll = 0.0
        self._backoff_until = 0.0
        self._failures = 0

    def start(self) -> None:
        tick = max(0.2, self._poll / 2)
        self._scheduler.add_job(
            self.tick,
            "interval",
            seconds=tick,
            jitter=tick / 10,
            max_instances=1,
            coalesce=True,
            id="follow",
        )
        self._scheduler.start()
        self.tick_soon()

    def stop(self) -> None:
        """Stop ticking, let a running tick finish, then hand the lease over at once."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self._leases.release(LEASE, self.holder)

    def tick_soon(self) -> None:
        """Run a tick now (after a webhook, or at start) instead of waiting for the timer."""
        self._scheduler.add_job(self.tick, max_instances=1)

    def refresh_soon(self, provider_job_id: str) -> None:
        """A webhook said this job changed: read it now, then deliver what it owes."""
        self._scheduler.add_job(self._refresh, args=[provider_job_id])

    def _refresh(self, provider_job_id: str) -> None:
        try:
            self._follower.refresh(provider_job_id)
        except ProviderError as exc:
            log.warning("could not refresh %s after a webhook: %s", provider_job_id, exc)
            return
        self.tick()

    def tick(self) -> None:
        """Renew (or take) the lease; poll when due; deliver notices and progress.

        A tick asked for while one runs (a webhook's) is not dropped: the running tick notifies
        once more before it returns.
        """
        if not self._tick_lock.acquire(blocking=False):
            self._again.set()
            return
        try:
            ttl = timedelta(seconds=self._poll * 1.25)
            if not self._leases.acquire(LEASE, self.holder, ttl):
                return
            now = time.monotonic()
            if now - self._last_poll >= self._poll * 0.95 and now >= self._backoff_until:
                self._last_poll = now
                self._poll_once()
            self._again.clear()
            self._notify()
            while self._again.is_set():
                self._again.clear()
                self._notify()
        except Exception:
            log.exception("follow tick failed; the next one carries on")
        finally:
            self._tick_lock.release()

    def _poll_once(self) -> None:
        try:
            stats = self._follower.poll_once()
        except ProviderError as exc:
            if not exc.retryable:
                raise
            self._failures += 1
            delay = min(MAX_BACKOFF_S, self._poll * 2**self._failures)
            self._backoff_until = time.monotonic() + delay
            log.warning("OpenAI unavailable (%s); next poll in %.0f s", exc, delay)
            return
        self._failures = 0
        if stats.changed:
            log.info(
                "followed %d job(s): %d changed, %d ended, %d API call(s)",
                stats.active,
                stats.changed,
                stats.finished,
                stats.api_calls,
            )
