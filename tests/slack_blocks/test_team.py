"""Team control messages: refusals, the budget, approval requests and their outcomes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from finetuning.team import Action, BudgetStatus, Reason, Refusal, Spending
from finetuning.team.approvals import Decision
from handlers.slack.blocks.team import (
    APPROVE_ACTION,
    REJECT_ACTION,
    approval_outcome_blocks,
    approval_request_blocks,
    awaiting_text,
    budget_blocks,
    refusal_text,
    rejected_notice,
)
from tests.slack_blocks.checks import assert_message_ok, assert_safe_mrkdwn, buttons
from tests.slack_blocks.test_jobs import job

HOSTILE = "<!channel> & <@U1>.jsonl"


def test_refusals_say_why_and_who_can_help() -> None:
    contacts = "<@U0BOSS>"
    user = refusal_text(Refusal(Action.START, Reason.USER_NOT_ALLOWED), contacts)
    channel = refusal_text(
        Refusal(Action.CANCEL, Reason.CHANNEL_NOT_ALLOWED, ("C1", "C2")), contacts
    )
    admins = refusal_text(Refusal(Action.DECIDE, Reason.ADMINS_ONLY), "a workspace admin")

    assert "You may not start fine-tunes:" in user and "Ask <@U0BOSS>" in user
    assert "cancel, pause or resume jobs in this channel" in channel
    assert "<#C1>, <#C2>" in channel
    assert (
        admins
        == ":no_entry: Only tunebot admins may approve or reject jobs. Ask a workspace admin."
    )


def test_the_budget_shows_both_scopes_with_and_without_a_cap() -> None:
    status = BudgetStatus(
        month=datetime(2026, 11, 1, tzinfo=UTC),
        workspace=Spending(Decimal("12.5"), Decimal("1234.5"), Decimal("2000")),
        user=Spending(Decimal("0.004"), Decimal("0"), None),
    )

    text, blocks = budget_blocks(status)

    assert_message_ok(text, blocks)
    shown = blocks[1]["text"]["text"]
    assert "spent $12.50 · committed $1,234.50 · *$753.00 left* of $2,000.00" in shown
    assert "spent &lt;$0.01 · committed $0.00 · no monthly cap" in shown
    assert blocks[0]["text"]["text"] == "*Budget for November 2026* (UTC)"


def test_an_approval_request_escapes_the_file_name_and_carries_both_buttons() -> None:
    waiting = dataclasses.replace(
        job(), status="awaiting_approval", provider_job_id=None, dataset_file_name=HOSTILE
    )

    text, blocks = approval_request_blocks(waiting, Decimal("0.25"))
    anywhere, _ = approval_request_blocks(dataclasses.replace(waiting, channel_id=None), None)

    assert "in <#C0GENERAL>, estimated $0.42" in text, "the channel it was asked from"
    assert_message_ok(text.replace("<#C0GENERAL>", "#general"), blocks[1:])
    assert_safe_mrkdwn(anywhere)
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;.jsonl" in blocks[0]["text"]["text"]
    assert "<@U123ABC> asks to fine-tune" in text and "over the $0.25" in text
    assert [(b["action_id"], b["value"]) for b in buttons(blocks)] == [
        (APPROVE_ACTION, "job-3"),
        (REJECT_ACTION, "job-3"),
    ]


def test_an_outcome_replaces_the_buttons_and_names_who_decided() -> None:
    waiting = dataclasses.replace(job(), dataset_file_name=HOSTILE, channel_id=None)
    for decision, word in [
        (Decision.APPROVED, "Approved"),
        (Decision.REJECTED, "Rejected"),
        (Decision.WITHDRAWN, "Withdrawn"),
    ]:
        text, blocks = approval_outcome_blocks(waiting, decision, "U0ADMIN")
        assert_message_ok(text, blocks)
        assert f"*{word}* by <@U0ADMIN>" in text
        assert buttons(blocks) == []


def test_the_requester_hears_that_it_waits_and_what_was_decided() -> None:
    waiting = awaiting_text(job(), Decimal("0.25"), "<@U0BOSS>")
    rejected = rejected_notice(job(), "U0ADMIN")

    for said in (waiting, rejected):
        assert_safe_mrkdwn(said)
    assert "estimated at $0.42, more than $0.25" in waiting and "I asked <@U0BOSS>" in waiting
    assert rejected.startswith(":no_entry: <@U123ABC>, your fine-tune `job-3`")
    assert "rejected by <@U0ADMIN>" in rejected
