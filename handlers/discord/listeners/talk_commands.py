"""`/finetune use`, `ask` and `compare`, and the success notice's **Use in this channel** and
**Compare with base** buttons (with the question's modal).

Each is acknowledged privately ("thinking…") and becomes a durable task keyed by the
interaction id; what the channel should see (the binding, the question, the comparison) the task
posts in the channel, and refusals go only to the asker. The subcommands join the `/finetune`
group the commands listener built (it reserves their names for this module).
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord import app_commands

from finetuning.jobs import JobNotFoundError
from handlers.discord.client import TunebotClient
from handlers.discord.listeners.accept import accept, interaction_ref
from handlers.discord.listeners.autocomplete import Autocomplete
from handlers.discord.people import place_of, workspace_of
from handlers.discord.render.views import (
    COMPARE_MODAL,
    ON_CLICK,
    CompareModal,
    TunebotButton,
    modal_values,
)
from handlers.discord.talk_deps import TalkDeps
from handlers.discord.tasks import ASK, BIND, COMPARE
from handlers.discord.tasks.ask import ask_payload, compare_payload
from handlers.discord.tasks.bind import bind_payload


def _where(interaction: discord.Interaction) -> tuple[str, str | None]:
    channel, thread = place_of(interaction.channel)
    if channel is None:
        raise ValueError("an interaction outside a channel")
    return channel, thread


def talk_commands(deps: TalkDeps) -> list[app_commands.Command[Any, ..., None]]:
    """The three subcommands, each with typed options; MODEL autocompletes from the catalog
    and this guild's succeeded jobs' models."""
    complete = Autocomplete(deps.base)

    @app_commands.command(name="use", description="Bind this channel (or thread) to a model")
    @app_commands.describe(
        model="A fine-tuned model, a base model, a job (job-3), or off to unbind",
        system="System prompt for every reply",
        temperature="Sampling temperature (0 to 2)",
        max_tokens="Longest reply, in tokens",
    )
    @app_commands.autocomplete(model=complete.models)
    async def use(
        interaction: discord.Interaction,
        model: str,
        system: str | None = None,
        temperature: app_commands.Range[float, 0.0, 2.0] | None = None,
        max_tokens: app_commands.Range[int, 1, 100_000] | None = None,
    ) -> None:
        channel, thread = _where(interaction)
        await accept(
            deps.base,
            interaction,
            BIND,
            bind_payload(
                workspace=workspace_of(interaction),
                channel=channel,
                thread=thread,
                user=str(interaction.user.id),
                model=model,
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                interaction=interaction_ref(interaction),
            ),
            ephemeral=True,
        )

    @app_commands.command(name="ask", description="One question to a model")
    @app_commands.describe(
        question="What to ask",
        model="Default: the model bound here",
        private="Only you see the answer",
    )
    @app_commands.autocomplete(model=complete.models)
    async def ask(
        interaction: discord.Interaction,
        question: str,
        model: str | None = None,
        private: bool = False,
    ) -> None:
        channel, thread = _where(interaction)
        await accept(
            deps.base,
            interaction,
            ASK,
            ask_payload(
                workspace=workspace_of(interaction),
                channel=channel,
                thread=thread,
                user=str(interaction.user.id),
                model=model,
                question=question,
                private=private,
                interaction=interaction_ref(interaction),
            ),
            ephemeral=True,
        )

    @app_commands.command(name="compare", description="Two models answer side by side")
    @app_commands.describe(model_a="First model", model_b="Second model", question="What to ask")
    @app_commands.autocomplete(model_a=complete.models, model_b=complete.models)
    async def compare(
        interaction: discord.Interaction, model_a: str, model_b: str, question: str
    ) -> None:
        await _compare(deps, interaction, [model_a, model_b], question)

    return [use, ask, compare]


async def _compare(
    deps: TalkDeps, interaction: discord.Interaction, models: list[str], question: str
) -> None:
    channel, thread = _where(interaction)
    await accept(
        deps.base,
        interaction,
        COMPARE,
        compare_payload(
            workspace=workspace_of(interaction),
            channel=channel,
            thread=thread,
            user=str(interaction.user.id),
            models=models,
            question=question,
            interaction=interaction_ref(interaction),
        ),
        ephemeral=True,
    )


def register(client: TunebotClient, deps: TalkDeps) -> None:
    """After the commands listener: adds the subcommands to its `/finetune` group."""
    group = client.tree.get_command(deps.base.command.removeprefix("/"))
    if not isinstance(group, app_commands.Group):
        raise RuntimeError("register the /finetune group before the conversation commands")
    for command in talk_commands(deps):
        group.add_command(command)

    async def on_use(interaction: discord.Interaction, button: TunebotButton) -> None:
        channel, _ = _where(interaction)  # the notice sits in a file's thread: bind the channel
        await accept(
            deps.base,
            interaction,
            BIND,
            bind_payload(
                workspace=workspace_of(interaction),
                channel=channel,
                thread=None,
                user=str(interaction.user.id),
                model=f"job-{button.target}",
                system=None,
                temperature=None,
                max_tokens=None,
                interaction=interaction_ref(interaction),
            ),
            ephemeral=True,
        )

    async def on_compare(interaction: discord.Interaction, button: TunebotButton) -> None:
        try:
            job = await asyncio.to_thread(
                deps.base.jobs.get, workspace_of(interaction), f"job-{button.target}"
            )
        except JobNotFoundError:
            await interaction.response.send_message("That job is gone.", ephemeral=True)
            return
        await interaction.response.send_modal(CompareModal(button.target, job.short_id))

    ON_CLICK["use"] = on_use
    ON_CLICK["compare"] = on_compare

    async def on_modal(interaction: discord.Interaction) -> bool:
        data: Any = interaction.data or {}
        custom_id = str(data.get("custom_id") or "")
        if not custom_id.startswith(COMPARE_MODAL):
            return False
        ref = f"job-{custom_id.removeprefix(COMPARE_MODAL)}"
        try:
            job = await asyncio.to_thread(deps.base.jobs.get, workspace_of(interaction), ref)
        except JobNotFoundError:
            await interaction.response.send_message("That job is gone.", ephemeral=True)
            return True
        question = modal_values(interaction).get("question", "").strip()
        await _compare(deps, interaction, [ref, job.base_model], question)
        return True

    client.on_interactions(on_modal)
