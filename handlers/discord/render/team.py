"""Refusals, budgets and approval requests, in Discord's words (role and channel mentions)."""

from __future__ import annotations

from decimal import Decimal

import discord

from finetuning.jobs.records import JobRecord
from finetuning.team import (
    Action,
    BudgetStatus,
    Person,
    Reason,
    Refusal,
    Spending,
    TeamPolicy,
)
from finetuning.team.approvals import Decision
from handlers.discord.render.jobs import mention
from handlers.discord.render.style import BAD, BRAND, OK, WARN

_WHAT = {
    "start": "start fine-tunes",
    "cancel": "cancel, pause or resume jobs",
    "delete": "delete models",
    "decide": "approve or reject jobs",
    "configure": "change this server's OpenAI key",
    "audit": "read the audit log",
}


def refusal_text(refusal: Refusal, contacts: str) -> str:
    """Why someone may not do this here, and who can help (`contacts`: mentions)."""
    what = _WHAT[refusal.action.value]
    if refusal.reason is Reason.ADMINS_ONLY:
        return f"⛔ Only tunebot admins may {what}. Ask {contacts}."
    if refusal.reason is Reason.CHANNEL_NOT_ALLOWED:
        places = ", ".join(f"<#{channel}>" for channel in refusal.allowed_channels)
        return (
            f"⛔ You may not {what} in this channel: this team allows it only in {places}. "
            f"Ask {contacts} if it should be allowed here."
        )
    return (
        f"⛔ You may not {what}: this team allows it only for the people and roles it named. "
        f"Ask {contacts} to give you one of those roles, or to do it for you."
    )


def contacts(admin_roles: frozenset[str], admins: frozenset[str]) -> str:
    """Who to ask: the admin roles and configured admins as mentions, else a server admin."""
    mentions = [f"<@&{role}>" for role in sorted(admin_roles)] + [
        f"<@{user}>" for user in sorted(admins)
    ]
    if not mentions:
        return "a server admin"
    return mentions[0] if len(mentions) == 1 else ", ".join(mentions[:-1]) + " or " + mentions[-1]


def _spending(spending: Spending) -> str:
    figures = f"spent ${spending.spent:,.2f} · committed ${spending.committed:,.2f}"
    if spending.limit is None or spending.left is None:
        return f"{figures} · no monthly cap"
    return f"{figures} · **${spending.left:,.2f} left** of ${spending.limit:,.2f}"


def budget_embed(status: BudgetStatus) -> discord.Embed:
    embed = discord.Embed(title=f"Budget for {status.month:%B %Y} (UTC)", colour=BRAND)
    embed.add_field(name="This server", value=_spending(status.workspace), inline=False)
    embed.add_field(name="You", value=_spending(status.user), inline=False)
    embed.set_footer(
        text="Spent: jobs that ended this month. Committed: estimates of jobs waiting, queued "
        "or running. A start whose estimate is more than what is left is refused."
    )
    return embed


def approval_request_embed(job: JobRecord, threshold: Decimal | None) -> discord.Embed:
    limit = f" (over the ${threshold:,.2f} limit)" if threshold is not None else ""
    where = f" in <#{job.thread_ts or job.channel_id}>" if job.channel_id else ""
    return discord.Embed(
        title=f"✋ {job.short_id} needs an admin's approval",
        colour=WARN,
        description=(
            f"{mention(job.started_by)} wants to fine-tune `{job.base_model}` on "
            f"`{job.dataset_short_id}`{where}, estimated ${job.estimated_cost_usd or 0:,.2f}"
            f"{limit}."
        ),
    )


def decision_embed(job: JobRecord, decision: Decision, by: str | None) -> discord.Embed:
    word = {
        Decision.APPROVED: "approved",
        Decision.REJECTED: "rejected",
        Decision.WITHDRAWN: "withdrawn",
    }[decision]
    return discord.Embed(
        title=f"{job.short_id} {word}",
        colour=OK if decision is Decision.APPROVED else BAD,
        description=f"{word.capitalize()} by {mention(by)}." if by else word.capitalize(),
    )


def policy_refusal(
    policy: TeamPolicy, action: Action, person: Person, channel: str | None
) -> str | None:
    """The team's rule applied and, when it says no, worded with whom to ask: the one check a
    listener makes at once and a task makes again when it runs (roles may change between)."""
    refusal = policy.check_person(action, person, channel)
    if refusal is None:
        return None
    return refusal_text(refusal, contacts(policy.admin_roles, policy.admins))
