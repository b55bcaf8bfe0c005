"""`/finetune`: one application-command group with typed options and autocomplete.

Answers read from the database (status, list, budget, help) go out as the acknowledgement;
everything that calls OpenAI or may take longer is acknowledged ("thinking…") and becomes a
durable task keyed by the interaction id, answered through the interaction's webhook.
Restricted subcommands are refused at once by the core's team policy (and again in the task).
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord import app_commands

from finetuning.jobs import JobNotFoundError, JobRecord
from finetuning.team import Action
from handlers.common.audit_request import CSV_DAYS, DEFAULT_ENTRIES, MAX_ENTRIES, audit_request
from handlers.common.workspace_key import REMOVE, SET, disabled_text
from handlers.discord.client import TunebotClient
from handlers.discord.deps import DiscordDeps
from handlers.discord.listeners.accept import accept, interaction_ref
from handlers.discord.listeners.autocomplete import Autocomplete
from handlers.discord.people import person_of, person_payload, place_of, workspace_of
from handlers.discord.render.conversation import bindings_status
from handlers.discord.render.help import help_embed
from handlers.discord.render.jobs import status_embed
from handlers.discord.render.team import budget_embed, policy_refusal
from handlers.discord.render.views import KeyModal
from handlers.discord.tasks import AUDIT, COMMAND, START, WORKSPACE_KEY
from handlers.discord.tasks.audit import audit_payload
from handlers.discord.tasks.command import command_payload
from handlers.discord.tasks.start import start_payload
from handlers.discord.tasks.workspace_key import PLACE, key_payload

RESERVED = ("use", "ask", "compare")
"""Subcommands for talking to models: added to the group by the conversations front end."""
RESTRICTED = {
    "start": Action.START,
    "cancel": Action.CANCEL,
    "pause": Action.CANCEL,
    "resume": Action.CANCEL,
    "delete": Action.DELETE,
}


async def refused(deps: DiscordDeps, interaction: discord.Interaction, action: Action) -> bool:
    """Refuse (privately) when the team's policy says no; True when refused."""
    channel, _ = place_of(interaction.channel)
    refusal = policy_refusal(deps.policy, action, person_of(interaction), channel)
    if refusal is None:
        return False
    await interaction.response.send_message(refusal, ephemeral=True)
    return True


def build_group(deps: DiscordDeps) -> app_commands.Group:
    """The `/finetune` group; the conversations front end adds use/ask/compare to it."""
    group = app_commands.Group(
        name=deps.command.removeprefix("/"),
        description="Fine-tune OpenAI models from this server",
        guild_only=True,
    )
    complete = Autocomplete(deps)

    async def durable(interaction: discord.Interaction, name: str, argument: str) -> None:
        action = RESTRICTED.get(name)
        if action is not None and await refused(deps, interaction, action):
            return
        channel, thread = place_of(interaction.channel)
        await accept(
            deps,
            interaction,
            COMMAND,
            command_payload(
                name=name,
                argument=argument,
                workspace=workspace_of(interaction),
                channel=channel,
                thread=thread,
                person=person_payload(person_of(interaction)),
                interaction=interaction_ref(interaction),
            ),
            ephemeral=True,
        )

    @group.command(name="help", description="What tunebot can do")
    async def help_command(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=help_embed(deps.command), ephemeral=True)

    @group.command(name="start", description="Start a fine-tuning job")
    @app_commands.describe(
        dataset="Dataset (default: the newest valid one in this channel)",
        model="Base model",
        epochs="Epochs (default: the API picks)",
        suffix="Suffix of the model's name",
        validation="Validation dataset",
        seed="Seed",
    )
    @app_commands.autocomplete(
        dataset=complete.datasets, validation=complete.datasets, model=complete.models
    )
    async def start(
        interaction: discord.Interaction,
        dataset: str | None = None,
        model: str | None = None,
        epochs: app_commands.Range[int, 1, 50] | None = None,
        suffix: str | None = None,
        validation: str | None = None,
        seed: int | None = None,
    ) -> None:
        if await refused(deps, interaction, Action.START):
            return
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
                fields={
                    "dataset": dataset,
                    "model": model,
                    "epochs": epochs,
                    "suffix": suffix,
                    "validation": validation,
                    "seed": seed,
                },
                interaction=interaction_ref(interaction),
            ),
            ephemeral=True,
            key=key,
        )

    @group.command(name="status", description="Active jobs in this channel, or one job")
    @app_commands.autocomplete(job=complete.jobs)
    async def status(interaction: discord.Interaction, job: str | None = None) -> None:
        await interaction.response.send_message(
            **await asyncio.to_thread(_status, deps, interaction, "status", job), ephemeral=True
        )

    @group.command(name="list", description="Jobs in this channel, or in the whole server")
    @app_commands.choices(
        scope=[
            app_commands.Choice(name="this channel", value="channel"),
            app_commands.Choice(name="the whole server", value="all"),
        ]
    )
    async def list_jobs(interaction: discord.Interaction, scope: str = "channel") -> None:
        await interaction.response.send_message(
            **await asyncio.to_thread(_status, deps, interaction, "list", scope), ephemeral=True
        )

    for name, about in (
        ("cancel", "Cancel a job"),
        ("pause", "Pause a running job"),
        ("resume", "Resume a paused job"),
        ("events", "OpenAI's latest events for a job"),
    ):
        group.add_command(_job_command(name, about, durable, complete))

    @group.command(name="models", description="Base models and your fine-tuned models")
    async def models(interaction: discord.Interaction) -> None:
        await durable(interaction, "models", "")

    @group.command(name="delete", description="Delete a fine-tuned model")
    @app_commands.autocomplete(model=complete.tuned_models)
    async def delete(interaction: discord.Interaction, model: str) -> None:
        await durable(interaction, "delete", model)

    @group.command(name="budget", description="This month's spending: the server's and yours")
    async def budget(interaction: discord.Interaction) -> None:
        status = await asyncio.to_thread(
            deps.budgets.status, workspace_of(interaction), str(interaction.user.id)
        )
        await interaction.response.send_message(embed=budget_embed(status), ephemeral=True)

    @group.command(
        name="audit", description="Admins: who changed what in this server, and the cost"
    )
    @app_commands.describe(
        entries=f"How many entries, newest first (default {DEFAULT_ENTRIES})",
        csv=f"The last {CSV_DAYS} days as a CSV file instead",
    )
    async def audit(
        interaction: discord.Interaction,
        entries: app_commands.Range[int, 1, MAX_ENTRIES] | None = None,
        csv: bool = False,
    ) -> None:
        if await refused(deps, interaction, Action.AUDIT):
            return
        channel, thread = place_of(interaction.channel)
        await accept(
            deps,
            interaction,
            AUDIT,
            audit_payload(
                request=audit_request(entries, csv=csv),
                workspace=workspace_of(interaction),
                channel=channel,
                thread=thread,
                person=person_payload(person_of(interaction)),
                interaction=interaction_ref(interaction),
            ),
            ephemeral=True,
        )

    @group.command(name="key", description="Admins: this server's own OpenAI key")
    @app_commands.describe(action="Set a new key (a form opens), or remove the one set")
    @app_commands.choices(
        action=[
            app_commands.Choice(name="set a new key", value=SET),
            app_commands.Choice(name="remove the key", value=REMOVE),
        ]
    )
    async def key(interaction: discord.Interaction, action: str = SET) -> None:
        """The form opens as the answer itself (a modal must be); a removal is a task."""
        if not deps.keys.enabled:
            await interaction.response.send_message(f"🔒 {disabled_text(PLACE)}", ephemeral=True)
            return
        if await refused(deps, interaction, Action.CONFIGURE):
            return
        workspace = workspace_of(interaction)
        if action == REMOVE:
            channel, thread = place_of(interaction.channel)
            await accept(
                deps,
                interaction,
                WORKSPACE_KEY,
                key_payload(
                    workspace=workspace,
                    channel=channel,
                    thread=thread,
                    person=person_payload(person_of(interaction)),
                    interaction=interaction_ref(interaction),
                ),
                ephemeral=True,
            )
            return
        status = await asyncio.to_thread(deps.keys.status, workspace)
        await interaction.response.send_modal(KeyModal(replacing=status is not None))

    return group


def _job_command(
    name: str, about: str, durable: Any, complete: Autocomplete
) -> app_commands.Command[Any, ..., None]:
    """cancel/pause/resume/events JOB: the same shape, one autocomplete of jobs."""

    async def callback(interaction: discord.Interaction, job: str) -> None:
        await durable(interaction, name, job)

    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=name, description=about, callback=callback
    )
    command.autocomplete("job")(complete.jobs)
    return command


def _status(
    deps: DiscordDeps, interaction: discord.Interaction, name: str, argument: str | None
) -> dict[str, Any]:
    """From what is stored: no provider calls, so it always answers within the ack."""
    workspace = workspace_of(interaction)
    channel, _ = place_of(interaction.channel)
    jobs: list[JobRecord]
    if name == "status" and argument:
        try:
            jobs = [deps.jobs.get(workspace, argument)]
        except JobNotFoundError as exc:
            return {"content": f"❔ {exc}"}
        title = f"Job {jobs[0].short_id}"
    elif name == "list" and argument == "all":
        jobs = deps.jobs.recent(workspace, limit=20)
        title = "Recent jobs in this server"
    else:
        jobs = deps.jobs.recent(workspace, channel, active_only=name == "status", limit=20)
        title = "Active jobs in this channel" if name == "status" else "Jobs in this channel"
    bound = ""
    if name == "status" and not argument and channel is not None:
        bound = bindings_status(deps.bindings.for_channel(workspace, channel))
    if not jobs:
        empty = f"{title}: none yet. Start one with `{deps.command} start`."
        return {"content": f"{empty}\n{bound}".strip()}
    return {"content": bound or None, "embed": status_embed(jobs, title)}


def register(client: TunebotClient, deps: DiscordDeps) -> None:
    client.tree.add_command(build_group(deps))
