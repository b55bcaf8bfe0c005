"""The allowance for the calls that grow streamed replies, per scope and window."""

from __future__ import annotations

from handlers.common.call_budget import WINDOW_SECONDS, CallBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_optional_calls_stop_at_the_limit_and_resume_as_the_window_slides() -> None:
    clock = Clock()
    budget = CallBudget({"chat.update": 10}, clock=clock)
    assert sum(budget.take("T1", "chat.update") for _ in range(50)) == 10
    clock.now += WINDOW_SECONDS - 1
    assert not budget.take("T1", "chat.update")
    clock.now += 1
    assert sum(budget.take("T1", "chat.update") for _ in range(50)) == 10


def test_workspaces_and_methods_have_allowances_of_their_own() -> None:
    budget = CallBudget({"chat.update": 1, "chat.appendStream": 1}, clock=Clock())
    assert budget.take("T1", "chat.update")
    assert not budget.take("T1", "chat.update")
    assert budget.take("T2", "chat.update")
    assert budget.take("T1", "chat.appendStream")
    assert budget.take("T1", "chat.postMessage"), "methods not listed are never held back"


def test_open_replies_keep_room_for_their_last_call() -> None:
    """Ten replies open at once under a limit of ten: no intermediate edit may take the room
    their ten final edits need, so all of them fit in the window Slack counts."""
    budget = CallBudget({"chat.update": 10}, clock=Clock())
    for _ in range(10):
        budget.reserve("T1", "chat.update")
    assert not budget.take("T1", "chat.update")
    finals = [budget.take("T1", "chat.update", force=True) for _ in range(10)]
    assert all(finals)
    assert not budget.take("T1", "chat.update"), "the window is full now"


def test_a_forced_call_goes_even_when_the_window_is_full() -> None:
    budget = CallBudget({"chat.update": 2}, clock=Clock())
    assert budget.take("T1", "chat.update") and budget.take("T1", "chat.update")
    assert budget.take("T1", "chat.update", force=True)


def test_a_short_window_counts_like_discords_edit_bucket() -> None:
    clock = Clock()
    budget = CallBudget({"edit": 5}, window_seconds=5.0, clock=clock)
    assert sum(budget.take("channel-1", "edit") for _ in range(9)) == 5
    assert budget.take("channel-2", "edit")
    clock.now += 5.0
    assert budget.take("channel-1", "edit")


def test_the_completing_call_always_goes_and_uses_its_reservation() -> None:
    budget = CallBudget({"edit": 2}, window_seconds=5.0, clock=Clock())
    budget.reserve("c", "edit")
    assert budget.take("c", "edit")
    assert not budget.take("c", "edit"), "the last slot is held for the completing edit"
    assert budget.take("c", "edit", force=True)
