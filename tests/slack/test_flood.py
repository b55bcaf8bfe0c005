"""The per-person limit on commands and clicks: a sliding minute, counted per person."""

from __future__ import annotations

import threading

import pytest
from slack_bolt import Ack

from bot.settings import Settings
from handlers.slack.flood import FloodLimit, Verdict, slow_down, turned_away


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_the_limit_is_a_sliding_minute_not_a_fixed_one(clock: FakeClock):
    limit = FloodLimit(3, clock=clock)
    allowed = []
    for at in (0, 20, 40):
        clock.now = 1000 + at
        allowed.append(limit.check("T1:alice").allowed)
    assert allowed == [True, True, True]

    clock.now = 1050
    refused = limit.check("T1:alice")
    assert not refused.allowed and refused.retry_after == pytest.approx(10)

    clock.now = 1060  # the request at 0 is a minute old: room for exactly one more
    assert limit.check("T1:alice").allowed
    again = limit.check("T1:alice")
    assert not again.allowed and again.retry_after == pytest.approx(20)


def test_refused_requests_do_not_push_the_wait_further(clock: FakeClock):
    limit = FloodLimit(2, clock=clock)
    limit.check("k")
    limit.check("k")
    for step in range(50):
        clock.now = 1000 + step
        assert not limit.check("k").allowed

    clock.now = 1060

    assert limit.check("k").allowed


def test_each_person_has_a_limit_of_their_own(clock: FakeClock):
    limit = FloodLimit(20, clock=clock)

    alice = [limit.check("T1:alice").allowed for _ in range(30)]
    bob = limit.check("T1:bob")
    alice_elsewhere = limit.check("T2:alice")

    assert alice.count(True) == 20 and alice[:20] == [True] * 20
    assert bob.allowed and alice_elsewhere.allowed


def test_a_person_is_told_once_per_wait(clock: FakeClock):
    limit = FloodLimit(1, clock=clock)
    limit.check("k")

    told = [limit.first_notice("k", limit.check("k")) for _ in range(3)]
    clock.now += 61
    assert limit.check("k").allowed
    told_again = limit.first_notice("k", limit.check("k"))

    assert told == [True, False, False]
    assert told_again
    assert limit.first_notice("other", limit.check("other")), "each person is told"


def test_people_idle_for_a_minute_are_forgotten(clock: FakeClock):
    limit = FloodLimit(5, clock=clock)
    for user in range(100):
        limit.check(f"T1:U{user}")
    assert limit.people == 100

    clock.now += 61
    limit.check("T1:someone")

    assert limit.people == 1


def test_concurrent_requests_never_exceed_the_limit(clock: FakeClock):
    limit = FloodLimit(50, clock=clock)
    results: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        mine = [limit.check("k").allowed for _ in range(100)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count(True) == 50


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        FloodLimit(0)


def test_the_message_says_when_to_try_again():
    assert "Try again in 10 seconds." in slow_down(Verdict(False, 9.2), 20)
    assert "Try again in 1 second." in slow_down(Verdict(False, 0.01), 20)
    assert "more than 20 commands and clicks in a minute" in slow_down(Verdict(False, 3), 20)


def test_a_command_over_the_limit_is_answered_in_its_acknowledgement(clock: FakeClock):
    limit = FloodLimit(2, clock=clock)
    command = {"command": "/finetune", "team_id": "T1", "user_id": "U1", "channel_id": "C1"}
    acks = [Ack() for _ in range(3)]

    refused = [turned_away(limit, command, ack) for ack in acks]

    assert refused == [False, False, True]
    assert [ack.response for ack in acks[:2]] == [None, None], "let through unanswered"
    answer = acks[2].response
    assert answer is not None and answer.status == 200
    assert "Slow down" in str(answer.body) and "Try again in 60 seconds" in str(answer.body)


def test_the_default_is_twenty_a_minute(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TUNEBOT_USER_COMMANDS_PER_MINUTE", raising=False)
    assert Settings(_env_file=None).tunebot_user_commands_per_minute == 20
    monkeypatch.setenv("TUNEBOT_USER_COMMANDS_PER_MINUTE", "0")
    with pytest.raises(ValueError, match="tunebot_user_commands_per_minute"):
        Settings(_env_file=None)
