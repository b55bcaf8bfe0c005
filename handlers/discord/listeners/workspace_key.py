"""The submitted key modal: checked for shape at once, then handed sealed to a durable task.

A paste that cannot be a key (an admin key, a sentence) is refused within the acknowledgement,
saying why; one that could is sealed here, on the listener, so the raw key reaches neither the
task table nor any log, and the task checks it with OpenAI (`tasks.workspace_key`). Admins only,
asked again on submission: the form may have stayed open while someone's roles changed.
"""

from __future__ import annotations

from typing import Any

import discord

from finetuning.credentials.workspace_keys import KeyShapeError, checked_shape
from finetuning.team import Action
from handlers.common.workspace_key import disabled_text
from handlers.discord.client import TunebotClient
from handlers.discord.deps import DiscordDeps
from handlers.discord.listeners.accept import accept, interaction_ref
from handlers.discord.listeners.commands import refused
from handlers.discord.people import person_of, person_payload, place_of, workspace_of
from handlers.discord.render.views import KEY_MODAL, modal_values
from handlers.discord.tasks import WORKSPACE_KEY
from handlers.discord.tasks.workspace_key import PLACE, key_payload


def register(client: TunebotClient, deps: DiscordDeps) -> None:
    async def on_key_modal(interaction: discord.Interaction) -> bool:
        data: Any = interaction.data or {}
        if data.get("custom_id") != KEY_MODAL:
            return False
        if not deps.keys.enabled:
            await interaction.response.send_message(f"🔒 {disabled_text(PLACE)}", ephemeral=True)
            return True
        if await refused(deps, interaction, Action.CONFIGURE):
            return True
        try:
            key = checked_shape(modal_values(interaction).get("key", ""))
        except KeyShapeError as wrong:
            await interaction.response.send_message(
                f"⚠️ The key was not saved: {wrong}", ephemeral=True
            )
            return True
        channel, thread = place_of(interaction.channel)
        await accept(
            deps,
            interaction,
            WORKSPACE_KEY,
            key_payload(
                workspace=workspace_of(interaction),
                channel=channel,
                thread=thread,
                person=person_payload(person_of(interaction)),
                interaction=interaction_ref(interaction),
                sealed=deps.keys.seal(key),
            ),
            ephemeral=True,
        )
        return True

    client.on_interactions(on_key_modal)
