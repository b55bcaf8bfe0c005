"""Subcommands that call OpenAI (cancel, pause, resume, delete, events, models): run as durable
tasks after the acknowledgement, answered privately through the interaction."""

from __future__ import annotations

from typing import Any

from finetuning.jobs import JobNotFoundError
from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from finetuning.team import Action
from handlers.discord.deps import DiscordDeps
from handlers.discord.people import person_from
from handlers.discord.tasks.answers import refused, tell
from handlers.discord.tasks.approve import show_withdrawal

ACTIONS = {"cancel": Action.CANCEL, "pause": Action.CANCEL, "resume": Action.CANCEL}
ACTIONS["delete"] = Action.DELETE


def command_payload(
    *,
    name: str,
    argument: str,
    workspace: str,
    channel: str | None,
    thread: str | None,
    person: dict[str, Any],
    interaction: dict[str, Any],
) -> dict[str, Any]:
    return {
        "name": name,
        "argument": argument,
        "workspace": workspace,
        "channel": channel,
        "thread": thread,
        "person": person,
        "interaction": interaction,
    }


def run_command(deps: DiscordDeps, payload: dict[str, Any]) -> None:
    name, argument, workspace = payload["name"], payload["argument"], payload["workspace"]
    person = person_from(payload["person"])
    action = ACTIONS.get(name)
    if action is not None and refused(deps, payload, action):
        return
    by = person.user_id
    try:
        if name == "cancel":
            job = deps.jobs.cancel(workspace, argument, by=by)
            text = f"🚫 Cancelling `{job.short_id}` (now {job.status})."
            show_withdrawal(deps, job)
        elif name == "pause":
            job = deps.jobs.pause(workspace, argument, by=by)
            text = f"⏸️ Pausing `{job.short_id}` (now {job.status})."
        elif name == "resume":
            job = deps.jobs.resume(workspace, argument, by=by)
            text = f"▶️ Resuming `{job.short_id}` (now {job.status})."
        elif name == "events":
            events = deps.jobs.events(workspace, argument)
            text = (
                "\n".join(
                    f"`{e.created_at:%Y-%m-%d %H:%M:%S}` {e.message}" for e in reversed(events)
                )
                or "No events yet."
            )
        elif name == "models":
            tuned = [
                m.id for m in deps.accounts.for_workspace(workspace).jobs.list_fine_tuned_models()
            ]
            base = "\n".join(
                f"• `{m.id}` ({', '.join(m.formats)}; ${m.training_usd_per_million:g}/1M tokens)"
                for m in deps.catalog.models
            )
            mine = "\n".join(f"• `{m}`" for m in tuned[:30]) or "• none yet"
            text = (
                f"**Base models you can fine-tune**\n{base}\n\n**Your fine-tuned models**\n{mine}"
            )
        elif name == "delete":
            deleted = deps.jobs.delete_model(workspace, argument, by=by)
            text = f"🗑️ Deleted `{argument}`." if deleted else f"`{argument}` remains."
        else:
            raise ValueError(f"unknown durable command {name!r}")
    except JobNotFoundError as missing:
        text = f"❔ {missing}"
    except ProviderError as error:
        if error.retryable:
            raise RetryLaterError(error.message) from error
        text = f"❌ OpenAI refused: {error.message}\n*{error.hint}*"
    tell(deps, payload, text[:2000])
