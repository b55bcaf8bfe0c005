"""The report's buttons and the start modal; the success notice's model buttons and the
compare modal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from finetuning.datasets.library import DatasetNotFoundError
from finetuning.jobs import JobNotFoundError
from finetuning.team import Action
from handlers.slack.blocks.compare_modal import CALLBACK_ID as COMPARE_CALLBACK_ID
from handlers.slack.blocks.compare_modal import compare_modal, submitted_question
from handlers.slack.blocks.follow import COMPARE_BASE_ACTION, USE_MODEL_ACTION
from handlers.slack.blocks.report import FIX_ACTION, START_ACTION
from handlers.slack.blocks.start_modal import CALLBACK_ID, parse_start_submission, start_modal
from handlers.slack.deps import SlackDeps
from handlers.slack.flood import turned_away
from handlers.slack.tasks import BIND, COMPARE, FIX, START
from handlers.slack.tasks.ask import compare_payload
from handlers.slack.tasks.bind import bind_payload
from handlers.slack.tasks.start import start_payload
from handlers.slack.team import team_refusal


def register(app: App, deps: SlackDeps) -> None:
    @app.action(START_ACTION)
    def on_start_button(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        """Open the modal at once: its trigger expires three seconds after the click."""
        if turned_away(deps.flood, body, ack, client):
            return
        ack()
        team = context.team_id or ""
        dataset_ref = str(body["actions"][0]["value"])
        channel = str(body["channel"]["id"])
        user = str(body["user"]["id"])
        refusal = team_refusal(deps, Action.START, team, user, channel)
        if refusal is not None:
            client.chat_postEphemeral(channel=channel, user=user, text=refusal)
            return
        try:
            deps.library.get(team, dataset_ref)
        except DatasetNotFoundError:
            client.chat_postEphemeral(channel=channel, user=user, text="That dataset is gone.")
            return
        others = [
            (f"{d.short_id} · {d.file_name}"[:75], d.short_id)
            for d in deps.library.recent(team, channel, limit=50)
            if d.valid and d.short_id != dataset_ref
        ]
        client.views_open(
            trigger_id=body["trigger_id"],
            view=start_modal(
                dataset_ref,
                models=[m.id for m in deps.catalog.models],
                default_model=deps.default_model,
                validation_choices=others,
                private_metadata=json.dumps({"dataset": dataset_ref, "channel": channel}),
            ),
        )

    @app.action(FIX_ACTION)
    def on_fix_button(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        if turned_away(deps.flood, body, ack, client):
            return
        ack()
        team = context.team_id or ""
        dataset_ref = str(body["actions"][0]["value"])
        deps.enqueue(
            FIX,
            f"fix:{team}:{dataset_ref}",
            {
                "team": team,
                "channel": body["channel"]["id"],
                "user": body["user"]["id"],
                "dataset": dataset_ref,
                "thread_ts": (body.get("message") or {}).get("thread_ts"),
            },
        )

    @app.view(CALLBACK_ID)
    def on_start_submitted(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """Validate the form in the ack (errors show under the fields), then start durably.

        The view id is the request key: submitting the same modal twice starts one job.
        """
        view = body["view"]
        parsed = parse_start_submission(view["state"]["values"])
        if isinstance(parsed, dict):
            ack(response_action="errors", errors=parsed)
            return
        ack()
        team = context.team_id or ""
        metadata = json.loads(view.get("private_metadata") or "{}")
        key = f"start:{team}:view:{view['id']}"
        deps.enqueue(
            START,
            key,
            start_payload(
                key=key,
                team=team,
                channel=metadata.get("channel"),
                user=str(body["user"]["id"]),
                fields={
                    "dataset": metadata.get("dataset"),
                    "model": parsed.model,
                    "epochs": parsed.epochs,
                    "suffix": parsed.suffix,
                    "validation": parsed.validation,
                    "seed": parsed.seed,
                },
            ),
        )

    @app.action(USE_MODEL_ACTION)
    def on_use_button(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        """Bind the channel the notice is in to the job's model (one binding per click)."""
        if turned_away(deps.flood, body, ack, client):
            return
        ack()
        team = context.team_id or ""
        job_ref = str(body["actions"][0]["value"])
        deps.enqueue(
            BIND,
            f"use:{team}:{body['trigger_id']}",
            bind_payload(
                team=team,
                channel=str(body["channel"]["id"]),
                user=str(body["user"]["id"]),
                thread_ts="",
                command=f"use {job_ref}",
                bot_user=context.bot_user_id,
            ),
        )

    @app.action(COMPARE_BASE_ACTION)
    def on_compare_button(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        if turned_away(deps.flood, body, ack, client):
            return
        ack()
        team = context.team_id or ""
        channel = str(body["channel"]["id"])
        try:
            job = deps.jobs.get(team, str(body["actions"][0]["value"]))
        except JobNotFoundError:
            client.chat_postEphemeral(
                channel=channel, user=str(body["user"]["id"]), text="That job is gone."
            )
            return
        message = body.get("message") or {}
        client.views_open(
            trigger_id=body["trigger_id"],
            view=compare_modal(
                job.fine_tuned_model or job.short_id,
                job.base_model,
                private_metadata=json.dumps(
                    {
                        "channel": channel,
                        "models": [job.short_id, job.base_model],
                        "thread_ts": message.get("thread_ts") or message.get("ts"),
                    }
                ),
            ),
        )

    @app.view(COMPARE_CALLBACK_ID)
    def on_compare_submitted(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        view = body["view"]
        question = submitted_question(view["state"]["values"])
        if isinstance(question, dict):
            ack(response_action="errors", errors=question)
            return
        ack()
        team = context.team_id or ""
        metadata = json.loads(view.get("private_metadata") or "{}")
        deps.enqueue(
            COMPARE,
            f"compare:{team}:view:{view['id']}",
            compare_payload(
                team=team,
                channel=str(metadata["channel"]),
                user=str(body["user"]["id"]),
                models=list(metadata["models"]),
                question=question,
                thread_ts=metadata.get("thread_ts"),
                response_url=None,
            ),
        )
