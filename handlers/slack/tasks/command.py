"""Subcommands that call OpenAI (cancel, pause, resume, delete, events, models): run as durable
tasks after the acknowledgement, answered privately through the command's response_url."""

from __future__ import annotations

from typing import Any

import httpx

from finetuning.datasets.models import ModelCatalog
from finetuning.jobs import JobNotFoundError
from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.approve import show_withdrawal
from handlers.slack.tasks.slack_calls import slack_transient_as_retry


def command_payload(
    *, name: str, argument: str, team: str, channel: str, user: str, response_url: str | None
) -> dict[str, Any]:
    return {
        "name": name,
        "argument": argument,
        "team": team,
        "channel": channel,
        "user": user,
        "response_url": response_url,
    }


def run_command(deps: SlackDeps, payload: dict[str, Any]) -> None:
    name, argument, team = payload["name"], payload["argument"], payload["team"]
    try:
        if name == "cancel":
            job = deps.jobs.cancel(team, argument, by=payload["user"])
            text = f":no_entry_sign: Cancelling `{job.short_id}` (now {job.status})."
            with slack_transient_as_retry():
                show_withdrawal(deps, job)
        elif name == "pause":
            job = deps.jobs.pause(team, argument, by=payload["user"])
            text = f":double_vertical_bar: Pausing `{job.short_id}` (now {job.status})."
        elif name == "resume":
            job = deps.jobs.resume(team, argument, by=payload["user"])
            text = f":arrow_forward: Resuming `{job.short_id}` (now {job.status})."
        elif name == "events":
            text = _events(deps, team, argument)
        elif name == "models":
            text = _models(
                deps.catalog,
                [m.id for m in deps.accounts.for_workspace(team).jobs.list_fine_tuned_models()],
            )
        elif name == "delete":
            deleted = deps.jobs.delete_model(team, argument, by=payload["user"])
            text = f":wastebasket: Deleted `{argument}`." if deleted else f"`{argument}` remains."
        else:
            raise ValueError(f"unknown durable command {name!r}")
    except JobNotFoundError as missing:
        text = f":grey_question: {missing}"
    except ProviderError as error:
        if error.retryable:
            raise RetryLaterError(error.message) from error
        text = f":x: OpenAI refused: {error.message}\n_{error.hint}_"
    with slack_transient_as_retry():
        respond_privately(deps, payload, text)


def respond_privately(deps: SlackDeps, payload: dict[str, Any], text: str) -> None:
    """Answer through the command's response_url (private), or ephemerally (in the payload's
    thread, if it names one) when there is none or it is gone."""
    response_url = payload.get("response_url")
    if response_url:
        try:
            httpx.post(response_url, json={"response_type": "ephemeral", "text": text}, timeout=10)
            return
        except httpx.HTTPError:
            pass
    deps.clients.for_team(payload["team"]).chat_postEphemeral(
        channel=payload["channel"],
        user=payload["user"],
        thread_ts=payload.get("thread_ts") or None,
        text=text,
    )


def _events(deps: SlackDeps, team: str, ref: str) -> str:
    events = deps.jobs.events(team, ref)
    if not events:
        return "No events yet."
    return "\n".join(
        f"`{event.created_at:%Y-%m-%d %H:%M:%S}` {event.message}" for event in reversed(events)
    )


def _models(catalog: ModelCatalog, tuned: list[str]) -> str:
    base = "\n".join(
        f"• `{m.id}` ({', '.join(m.formats)}; ${m.training_usd_per_million:g}/1M training tokens)"
        for m in catalog.models
    )
    mine = "\n".join(f"• `{model}`" for model in tuned[:40]) or "• none yet"
    return f"*Base models you can fine-tune*\n{base}\n\n*Your fine-tuned models*\n{mine}"
