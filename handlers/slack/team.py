"""The team policy and budgets asked from Slack: who the person is, where, and the words."""

from __future__ import annotations

from typing import Any

from finetuning.team import Action
from handlers.slack.blocks.team import budget_blocks, refusal_text
from handlers.slack.deps import SlackDeps


def team_refusal(
    deps: SlackDeps, action: Action, team_id: str, user_id: str, channel_id: str | None
) -> str | None:
    """None when the person may do it here; else the ephemeral refusal, naming who can help.

    Slack is asked whether the person is a workspace admin only when the lists would refuse.
    """
    refusal = deps.policy.check(
        action, user_id, channel_id, lambda: deps.admins.is_admin(team_id, user_id)
    )
    if refusal is None:
        return None
    return refusal_text(refusal, deps.admins.contacts(team_id))


COMMAND_ACTIONS = {
    "start": Action.START,
    "cancel": Action.CANCEL,
    "pause": Action.CANCEL,
    "resume": Action.CANCEL,
    "delete": Action.DELETE,
}
"""The subcommands the team may restrict; pause and resume count as cancelling."""


def command_refusal(
    deps: SlackDeps, subcommand: str, team_id: str, user_id: str, channel_id: str
) -> str | None:
    """`team_refusal` for a `/finetune` subcommand; None for those open to everyone."""
    action = COMMAND_ACTIONS.get(subcommand)
    if action is None:
        return None
    return team_refusal(deps, action, team_id, user_id, channel_id)


def budget_answer(deps: SlackDeps, team_id: str, user_id: str) -> dict[str, Any]:
    """`/finetune budget`, from the database alone, so it fits in the acknowledgement."""
    text, blocks = budget_blocks(deps.budgets.status(team_id, user_id))
    return {"text": text, "blocks": blocks}
