"""Clicks on tunebot's buttons and submitted modals.

- **Start fine-tune** opens the start modal at once (a modal must be the interaction's answer);
- the submitted modal becomes a `discord.start` task keyed by the submission's id;
- **Fix and re-upload** becomes a `discord.fix` task keyed by the click's id (anyone may ask, as
  anyone may upload the file);
- **Approve** / **Reject** take the decision in the database within the acknowledgement (one
  conditional UPDATE, so two admins clicking at once decide once), writing the follow-up task in
  the same transaction, and edit the request message. A click in an admin's DMs has no guild:
  the button names the workspace, and only TUNEBOT_ADMINS ids count as admins there
  (`people.person_of`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord
from sqlalchemy.orm import Session

from finetuning.datasets.library import DatasetNotFoundError
from finetuning.jobs import JobRecord
from finetuning.team import Action
from finetuning.team.approvals import Decision, DecisionOutcome
from handlers.discord.client import TunebotClient
from handlers.discord.deps import DiscordDeps
from handlers.discord.listeners.accept import accept, interaction_ref
from handlers.discord.people import person_of, person_payload, place_of, workspace_of
from handlers.discord.render.team import decision_embed, policy_refusal
from handlers.discord.render.views import (
    ON_CLICK,
    START_MODAL,
    StartModal,
    TunebotButton,
    modal_values,
)
from handlers.discord.tasks import DECISION, FIX, START
from handlers.discord.tasks.approve import decision_payload
from handlers.discord.tasks.fix import fix_payload
from handlers.discord.tasks.start import start_payload


def _refusal(deps: DiscordDeps, interaction: discord.Interaction, action: Action) -> str | None:
    channel, _ = place_of(interaction.channel)
    return policy_refusal(deps.policy, action, person_of(interaction), channel)


def _decided_in(interaction: discord.Interaction, button: TunebotButton) -> str | None:
    """The workspace a decision is about: the click's guild, or in an admin's DMs (no guild)
    the one the button names; None for an old button clicked in a DM, which names none."""
    if interaction.guild_id is not None:
        return workspace_of(interaction)
    return button.workspace


def register(client: TunebotClient, deps: DiscordDeps) -> None:
    client.add_dynamic_items(TunebotButton)

    async def on_start(interaction: discord.Interaction, button: TunebotButton) -> None:
        refusal = _refusal(deps, interaction, Action.START)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        try:
            dataset = await asyncio.to_thread(
                deps.library.get, workspace_of(interaction), f"ds-{button.target}"
            )
        except DatasetNotFoundError:
            await interaction.response.send_message("That dataset is gone.", ephemeral=True)
            return
        await interaction.response.send_modal(
            StartModal(dataset.id, dataset.short_id, deps.default_model)
        )

    async def on_decide(interaction: discord.Interaction, button: TunebotButton) -> None:
        refusal = _refusal(deps, interaction, Action.DECIDE)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        workspace = _decided_in(interaction, button)
        if workspace is None:
            await interaction.response.send_message(
                "This request does not say which server it is from: decide in the server.",
                ephemeral=True,
            )
            return
        decision = Decision.APPROVED if button.action == "approve" else Decision.REJECTED
        by = str(interaction.user.id)
        clicked = str(interaction.message.id) if interaction.message is not None else None
        started: list[Callable[[], None]] = []

        def then(session: Session, job: JobRecord) -> None:
            started.append(
                deps.enqueue_in(
                    session,
                    DECISION,
                    f"discord:decision:{job.id}",
                    decision_payload(
                        workspace=workspace,
                        job_id=job.id,
                        decision=decision,
                        by=by,
                        waiting=job.status_message_ts,
                        clicked=clicked,
                    ),
                )
            )

        def decide() -> DecisionOutcome:
            act = deps.approvals.approve if decision is Decision.APPROVED else deps.approvals.reject
            return act(workspace, f"job-{button.target}", by, then=then)

        outcome = await asyncio.to_thread(decide)
        shown = outcome.decision or decision
        # No content: in the requester's thread the request is the waiting message, whose
        # "waits for approval" would contradict the decision shown under it.
        await interaction.response.edit_message(
            content=None, embed=decision_embed(outcome.job, shown, outcome.by), view=None
        )
        for start in started:
            start()

    async def on_fix(interaction: discord.Interaction, button: TunebotButton) -> None:
        channel, thread = place_of(interaction.channel)
        key = f"discord:fix:{interaction.id}"
        await accept(
            deps,
            interaction,
            FIX,
            fix_payload(
                workspace=workspace_of(interaction),
                channel=channel,
                thread=thread,
                dataset=f"ds-{button.target}",
                user=str(interaction.user.id),
                interaction=interaction_ref(interaction),
            ),
            ephemeral=True,
            key=key,
        )

    ON_CLICK["start"] = on_start
    ON_CLICK["fix"] = on_fix
    ON_CLICK["approve"] = on_decide
    ON_CLICK["reject"] = on_decide

    async def on_modal(interaction: discord.Interaction) -> bool:
        data: Any = interaction.data or {}
        custom_id = str(data.get("custom_id") or "")
        if not custom_id.startswith(START_MODAL):
            return False
        values = modal_values(interaction)
        fields: dict[str, Any] = {
            "dataset": f"ds-{custom_id.removeprefix(START_MODAL)}",
            "model": values.get("model") or None,
            "suffix": values.get("suffix") or None,
        }
        for name in ("epochs", "seed"):
            text = (values.get(name) or "").strip()
            if (text and not text.isascii()) or (text and not text.lstrip("-").isdigit()):
                await interaction.response.send_message(
                    f"⚠️ {name} must be a whole number, not {text!r}.", ephemeral=True
                )
                return True
            fields[name] = int(text) if text else None
        channel, thread = place_of(interaction.channel)
        key = f"discord:start:{interaction.id}"
        await accept(
            deps,
            interaction,
            START,
            start_payload(
                key=key,
                workspace=workspace_of(interaction),
                channel=channel,
                thread=thread,
                person=person_payload(person_of(interaction)),
                fields=fields,
                interaction=interaction_ref(interaction),
            ),
            ephemeral=True,
            key=key,
        )
        return True

    client.on_interactions(on_modal)
