"""`/finetune`: answered within Slack's 3 seconds; slow or costly work becomes a task."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from finetuning.jobs import JobNotFoundError
from handlers.slack.blocks.conversation import bindings_status
from handlers.slack.blocks.help import help_text
from handlers.slack.blocks.jobs import job_status_blocks
from handlers.slack.blocks.layout import context
from handlers.slack.command_parser import CommandError, ParsedCommand, parse_command
from handlers.slack.deps import SlackDeps
from handlers.slack.flood import turned_away
from handlers.slack.listeners.workspace_key import answer_key_command
from handlers.slack.tasks import ASK, AUDIT, BIND, COMMAND, COMPARE, START
from handlers.slack.tasks.ask import ask_payload, compare_payload
from handlers.slack.tasks.bind import bind_payload
from handlers.slack.tasks.command import command_payload
from handlers.slack.tasks.start import start_payload
from handlers.slack.team import budget_answer, command_refusal


def register(app: App, deps: SlackDeps) -> None:
    @app.command(deps.command)
    def on_command(
        ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        if turned_away(deps.flood, command, ack):
            return
        try:
            parsed = parse_command(command.get("text") or "")
        except CommandError as exc:
            ack(text=f":warning: {exc}\n\n{help_text(deps.command)}")
            return
        team = str(command["team_id"])
        channel = str(command["channel_id"])
        user = str(command["user_id"])
        key = f"command:{team}:{command['trigger_id']}"
        response_url = command.get("response_url")
        refusal = command_refusal(deps, parsed.name, team, user, channel)
        if refusal is not None:
            ack(text=refusal)
            return
        if parsed.name == "help":
            ack(text=help_text(deps.command))
        elif parsed.name == "key":
            answer_key_command(
                deps, ack, command, client, parsed.arguments[0] if parsed.arguments else ""
            )
        elif parsed.name == "budget":
            ack(**budget_answer(deps, team, user))
        elif parsed.name in ("status", "list"):
            ack(**_status(deps, parsed, team, channel))
        elif parsed.name == "start":
            ack(text=":hourglass_flowing_sand: Starting the fine-tune…")
            deps.enqueue(
                START,
                f"start:{team}:{command['trigger_id']}",
                start_payload(
                    key=f"start:{team}:{command['trigger_id']}",
                    team=team,
                    channel=channel,
                    user=user,
                    fields=_start_fields(parsed),
                ),
            )
        elif parsed.name == "use":
            ack(text=":hourglass_flowing_sand: Looking the model up…")
            deps.enqueue(
                BIND,
                key,
                bind_payload(
                    team=team,
                    channel=channel,
                    user=user,
                    thread_ts="",
                    command=command.get("text") or "",
                    bot_user=context.bot_user_id,
                    response_url=response_url,
                ),
            )
        elif parsed.name == "ask":
            if parsed.private:
                ack(text=":hourglass_flowing_sand: Asking…")
            else:
                ack()
            deps.enqueue(
                ASK,
                key,
                ask_payload(
                    team=team,
                    channel=channel,
                    user=user,
                    words=parsed.arguments,
                    text=parsed.text,
                    private=parsed.private,
                    response_url=response_url,
                ),
            )
        elif parsed.name == "compare":
            ack()
            first, second = parsed.arguments[:2]
            deps.enqueue(
                COMPARE,
                key,
                compare_payload(
                    team=team,
                    channel=channel,
                    user=user,
                    models=[first, second],
                    question=_after_words(parsed.text, 2),
                    thread_ts=None,
                    response_url=response_url,
                ),
            )
        else:
            ack(text=_WORKING[parsed.name])
            deps.enqueue(
                AUDIT if parsed.name == "audit" else COMMAND,
                key,
                command_payload(
                    name=parsed.name,
                    argument=parsed.arguments[0] if parsed.arguments else "",
                    team=team,
                    channel=channel,
                    user=user,
                    response_url=response_url,
                ),
            )


def _after_words(text: str, count: int) -> str:
    """`text` without its first `count` words, its own line breaks kept."""
    parts = text.split(maxsplit=count)
    return parts[count] if len(parts) > count else ""


_WORKING = {
    "cancel": ":hourglass_flowing_sand: Asking OpenAI to cancel it…",
    "pause": ":hourglass_flowing_sand: Asking OpenAI to pause it…",
    "resume": ":hourglass_flowing_sand: Asking OpenAI to resume it…",
    "delete": ":hourglass_flowing_sand: Asking OpenAI to delete it…",
    "events": ":hourglass_flowing_sand: Fetching the job's events…",
    "models": ":hourglass_flowing_sand: Fetching the models…",
    "audit": ":hourglass_flowing_sand: Reading the audit log…",
}


def _start_fields(parsed: ParsedCommand) -> dict[str, Any]:
    return {
        "dataset": parsed.arguments[0] if parsed.arguments else None,
        "model": parsed.options.get("model"),
        "epochs": parsed.integer("epochs"),
        "suffix": parsed.options.get("suffix"),
        "validation": parsed.options.get("validation"),
        "seed": parsed.integer("seed"),
    }


def _status(deps: SlackDeps, parsed: ParsedCommand, team: str, channel: str) -> dict[str, Any]:
    """Read from what is stored: no provider calls, so it always answers within the ack."""
    if parsed.name == "status" and parsed.arguments:
        try:
            jobs = [deps.jobs.get(team, parsed.arguments[0])]
        except JobNotFoundError as exc:
            return {"text": f":grey_question: {exc}"}
        title = f"Job {jobs[0].short_id}"
    elif parsed.name == "list" and parsed.arguments[:1] == ["all"]:
        jobs = deps.jobs.recent(team, limit=20)
        title = "Recent jobs in this workspace"
    else:
        jobs = deps.jobs.recent(team, channel, active_only=parsed.name == "status", limit=20)
        title = "Active jobs in this channel" if parsed.name == "status" else "Jobs in this channel"
    bound = ""
    if parsed.name == "status" and not parsed.arguments:
        bound = bindings_status(deps.bindings.for_channel(team, channel))
    if not jobs:
        empty = f"{title}: none yet. Start one with `{deps.command} start`."
        return {"text": f"{empty}\n{bound}".strip()}
    text, blocks = job_status_blocks(jobs, title=title)
    if bound:
        blocks.append(context(bound).to_dict())
    return {"text": text, "blocks": blocks}
