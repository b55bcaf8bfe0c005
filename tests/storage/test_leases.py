"""Leases: one holder at a time, renewal by the holder, takeover after expiry or release."""

import threading
from datetime import timedelta

from storage.leases import LeaseStore

TTL = timedelta(seconds=30)


def test_first_comer_holds_and_others_are_refused(session_factory):
    leases = LeaseStore(session_factory)
    assert leases.acquire("follower", "a", TTL)
    assert not leases.acquire("follower", "b", TTL)
    assert leases.acquire("follower", "a", TTL)  # renewal
    assert leases.holder("follower") == "a"


def test_an_expired_lease_is_taken_over(session_factory):
    leases = LeaseStore(session_factory)
    assert leases.acquire("follower", "a", timedelta(seconds=-1))
    assert leases.holder("follower") is None
    assert leases.acquire("follower", "b", TTL)
    assert not leases.acquire("follower", "a", TTL)


def test_release_lets_another_take_it_at_once(session_factory):
    leases = LeaseStore(session_factory)
    assert leases.acquire("follower", "a", TTL)
    leases.release("follower", "a")
    assert leases.acquire("follower", "b", TTL)


def test_racing_processes_never_both_win(session_factory):
    leases = LeaseStore(session_factory)
    winners = []
    barrier = threading.Barrier(5)

    def race(name):
        barrier.wait()
        if leases.acquire("follower", name, TTL):
            winners.append(name)

    threads = [threading.Thread(target=race, args=(f"p{i}",)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
