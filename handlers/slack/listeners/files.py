"""A file shared where the bot is: acknowledged at once, checked by a durable task."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from handlers.slack.deps import SlackDeps
from handlers.slack.files import is_dataset_name
from handlers.slack.tasks import INTAKE


def register(app: App, deps: SlackDeps) -> None:
    @app.event({"type": "message", "subtype": "file_share"})
    def on_file_share(event: dict[str, Any], context: BoltContext) -> None:
        team = context.team_id or str(event.get("team") or "")
        channel = str(event["channel"])
        thread_ts = str(event.get("thread_ts") or event["ts"])
        for file in event.get("files") or []:
            name = str(file.get("name") or "")
            if name and not is_dataset_name(name):
                continue
            deps.enqueue(
                INTAKE,
                f"intake:{team}:{file['id']}",
                {
                    "team": team,
                    "channel": channel,
                    "thread_ts": thread_ts,
                    "user": event.get("user"),
                    "file": file,
                },
            )
