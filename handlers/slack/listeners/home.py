"""The Home tab, published when opened."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from handlers.slack.home import HomePublisher


def register(app: App, home: HomePublisher) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        home.opened(context.team_id or "", str(event["user"]))
