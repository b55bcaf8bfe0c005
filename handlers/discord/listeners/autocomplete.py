"""Autocomplete for `/finetune` options: this guild's recent datasets and jobs, and models
(the catalog plus the models this guild's succeeded jobs trained). From the database only:
Discord wants the choices within 3 seconds of each keystroke."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands

from handlers.discord.deps import DiscordDeps
from handlers.discord.people import workspace_of

MAX_CHOICES = 25


def _pick(pairs: list[tuple[str, str]], typed: str) -> list[app_commands.Choice[str]]:
    typed = typed.lower().strip()
    found = [(n, v) for n, v in pairs if typed in n.lower()]
    return [app_commands.Choice(name=n[:100], value=v[:100]) for n, v in found[:MAX_CHOICES]]


class Autocomplete:
    def __init__(self, deps: DiscordDeps) -> None:
        self._deps = deps

    async def datasets(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        workspace = workspace_of(interaction)
        found = await asyncio.to_thread(self._deps.library.recent, workspace)
        pairs = [
            (f"{d.short_id} · {d.file_name}{'' if d.valid else ' (has errors)'}", d.short_id)
            for d in found
        ]
        return _pick(pairs, current)

    async def jobs(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        workspace = workspace_of(interaction)
        found = await asyncio.to_thread(self._deps.jobs.recent, workspace, None, limit=50)
        pairs = [
            (f"{j.short_id} · {j.status.replace('_', ' ')} · {j.base_model}", j.short_id)
            for j in found
        ]
        return _pick(pairs, current)

    async def tuned_models(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        workspace = workspace_of(interaction)
        found = await asyncio.to_thread(self._deps.jobs.recent, workspace, None, limit=100)
        pairs = [
            (f"{j.fine_tuned_model} ({j.short_id})", j.fine_tuned_model)
            for j in found
            if j.status == "succeeded" and j.fine_tuned_model
        ]
        return _pick(pairs, current)

    async def models(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        tuned = await self.tuned_models(interaction, "")
        base = [(m.id, m.id) for m in self._deps.catalog.models]
        pairs = [(c.name, str(c.value)) for c in tuned] + base
        return _pick(pairs, current)
