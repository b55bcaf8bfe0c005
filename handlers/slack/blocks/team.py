"""Messages about team controls: refusals, the month's budget, and approval requests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from finetuning.jobs.records import JobRecord
from finetuning.team import Action, BudgetStatus, Reason, Refusal, Spending
from finetuning.team.approvals import Decision
from handlers.slack.blocks.layout import context, section, to_dicts
from handlers.slack.blocks.limits import FALLBACK_TEXT_LIMIT
from handlers.slack.blocks.text import code, escape_mrkdwn, mention, truncate, usd

APPROVE_ACTION = "approve_job"
REJECT_ACTION = "reject_job"

_WHAT = {
    Action.START: "start fine-tunes",
    Action.CANCEL: "cancel, pause or resume jobs",
    Action.DELETE: "delete models",
    Action.DECIDE: "approve or reject jobs",
    Action.CONFIGURE: "change this workspace's OpenAI key",
    Action.AUDIT: "read the audit log",
}
_DECIDED = {
    Decision.APPROVED: (":white_check_mark:", "approved"),
    Decision.REJECTED: (":no_entry:", "rejected"),
    Decision.WITHDRAWN: (":leftwards_arrow_with_hook:", "withdrawn"),
}


def refusal_text(refusal: Refusal, contacts: str) -> str:
    """Why someone may not do this here, and who can help (`contacts` is ready mrkdwn)."""
    what = _WHAT[refusal.action]
    if refusal.reason is Reason.ADMINS_ONLY:
        return f":no_entry: Only tunebot admins may {what}. Ask {contacts}."
    if refusal.reason is Reason.CHANNEL_NOT_ALLOWED:
        places = ", ".join(f"<#{channel}>" for channel in refusal.allowed_channels)
        return (
            f":no_entry: You may not {what} in this channel: this team allows it only in "
            f"{places}. Ask {contacts} if it should be allowed here."
        )
    return (
        f":no_entry: You may not {what}: this team allows it only for the people it named. "
        f"Ask {contacts} to add you, or to do it for you."
    )


def budget_blocks(status: BudgetStatus) -> tuple[str, list[dict[str, Any]]]:
    """The month's spending for the workspace and for the asker."""
    month = f"{status.month:%B %Y}"
    workspace = _spending_line(status.workspace)
    yours = _spending_line(status.user)
    blocks: list[Block] = [
        section(f"*Budget for {month}* (UTC)"),
        section(f"*This workspace*\n{workspace}\n*You*\n{yours}"),
        context(
            "Spent: what jobs that ended this month cost. Committed: the estimates of jobs "
            "waiting for approval, queued or running. A start whose estimate is more than what "
            "is left is refused."
        ),
    ]
    text = f"Budget for {month}: workspace {workspace}; you {yours}"
    return truncate(text, FALLBACK_TEXT_LIMIT), to_dicts(blocks)


def _spending_line(spending: Spending) -> str:
    figures = f"spent {usd(spending.spent)} · committed {usd(spending.committed)}"
    if spending.limit is None or spending.left is None:
        return f"{figures} · no monthly cap"
    return f"{figures} · *{usd(spending.left)} left* of {usd(spending.limit)}"


def _job_summary(job: JobRecord) -> str:
    cost = usd(job.estimated_cost_usd) if job.estimated_cost_usd is not None else "an unknown sum"
    who = mention(job.started_by) if job.started_by else "someone"
    where = f" in <#{job.channel_id}>" if job.channel_id else ""
    return (
        f"{who} asks to fine-tune {code(job.base_model)} on {code(job.dataset_short_id)} "
        f"({escape_mrkdwn(job.dataset_file_name)}){where}, estimated {cost}"
    )


def approval_request_blocks(
    job: JobRecord, threshold: Decimal | None
) -> tuple[str, list[dict[str, Any]]]:
    """What admins see: the job, why it needs them, and the two buttons."""
    limit = f", over the {usd(threshold)} that needs approval" if threshold is not None else ""
    summary = f"{_job_summary(job)}{limit} ({code(job.short_id)})."
    blocks: list[Block] = [
        section(f":raised_hand: *Approval needed.* {summary}"),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Approve", action_id=APPROVE_ACTION, value=job.short_id, style="primary"
                ),
                ButtonElement(
                    text="Reject", action_id=REJECT_ACTION, value=job.short_id, style="danger"
                ),
            ]
        ),
        context("Only a tunebot admin's click counts; the first decision is final."),
    ]
    return truncate(f"Approval needed: {summary}", FALLBACK_TEXT_LIMIT), to_dicts(blocks)


def approval_outcome_blocks(
    job: JobRecord, decision: Decision, by: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """The request once decided: the same summary, the decision in place of the buttons."""
    mark, word = _DECIDED[decision]
    who = f" by {mention(by)}" if by else ""
    text = f"{mark} *{word.capitalize()}*{who}: {_job_summary(job)} ({code(job.short_id)})."
    return truncate(text, FALLBACK_TEXT_LIMIT), to_dicts([section(text)])


def awaiting_text(job: JobRecord, threshold: Decimal | None, asked: str) -> str:
    """What the requester reads in the thread while the job waits."""
    cost = usd(job.estimated_cost_usd) if job.estimated_cost_usd is not None else "its cost"
    limit = f"more than {usd(threshold)}" if threshold is not None else "over the limit"
    return (
        f":hourglass: Fine-tune {code(job.short_id)} ({code(job.base_model)} on "
        f"{code(job.dataset_short_id)}) is estimated at {cost}, {limit}, so it waits for an "
        f"admin's approval. I asked {asked}; the answer will come here."
    )


def decided_text(job: JobRecord, decision: Decision, by: str | None) -> str:
    """The requester's waiting message once an admin decided."""
    mark, word = _DECIDED[decision]
    who = f" by {mention(by)}" if by else ""
    return f"{mark} Fine-tune {code(job.short_id)} was {word}{who}."


def rejected_notice(job: JobRecord, by: str | None) -> str:
    """Told to the requester, in the channel where they asked."""
    asker = f"{mention(job.started_by)}, your" if job.started_by else "The"
    who = mention(by) if by else "an admin"
    return (
        f":no_entry: {asker} fine-tune {code(job.short_id)} ({code(job.base_model)} on "
        f"{code(job.dataset_short_id)}) was rejected by {who}. Nothing was started or spent."
    )
