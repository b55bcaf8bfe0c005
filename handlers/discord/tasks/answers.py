"""How a task answers the person who asked, and refuses them when the team's rule says no.

Every task kind answers the same way, so these live apart from any one task.
"""

from __future__ import annotations

from typing import Any

from finetuning.team import Action
from handlers.discord import calls
from handlers.discord.deps import DiscordDeps
from handlers.discord.people import person_from
from handlers.discord.render.team import policy_refusal


def tell(deps: DiscordDeps, payload: dict[str, Any], text: str, *, private: bool = True) -> None:
    """Answer the person who asked (privately through the interaction while it lasts)."""
    fallback = payload.get("thread") or payload.get("channel")
    user = payload.get("person", {}).get("user") or payload.get("user")
    deps.bridge.call(
        lambda c: calls.answer(
            c, payload.get("interaction"), fallback, content=text, ephemeral=private, mention=user
        )
    )


def refused(deps: DiscordDeps, payload: dict[str, Any], action: Action) -> bool:
    """Check again as the task runs (the listener checked at once; roles may have changed,
    and a retried task comes by no listener): tell the person why not; True when refused."""
    person = person_from(payload["person"])
    refusal = policy_refusal(deps.policy, action, person, payload.get("channel"))
    if refusal is None:
        return False
    tell(deps, payload, refusal)
    return True
