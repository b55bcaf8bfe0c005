"""The report's buttons and the start modal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from finetuning.datasets.library import DatasetNotFoundError
from handlers.slack.blocks.report import FIX_ACTION, START_ACTION
from handlers.slack.blocks.start_modal import CALLBACK_ID, parse_start_submission, start_modal
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks import FIX, START
from handlers.slack.tasks.start import start_payload


def register(app: App, deps: SlackDeps) -> None:
    @app.action(START_ACTION)
    def on_start_button(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        """Open the modal at once: its trigger expires three seconds after the click."""
        ack()
        team = context.team_id or ""
        dataset_ref = str(body["actions"][0]["value"])
        channel = str(body["channel"]["id"])
        user = str(body["user"]["id"])
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
    def on_fix_button(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
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
