"""The app was uninstalled from a workspace, or its tokens were revoked: forget them.

Bolt's own token revocation listeners delete what the installation store holds for the
workspace (`app_uninstalled`: all of it; `tokens_revoked`: the revoked tokens); the client kept
for its token is dropped as well. From then on `SlackClients.for_team` refuses the workspace, so
work still queued for it ends instead of calling Slack with a dead token. With a single bot
token there is no store: the event is only logged, since that token now works nowhere.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from handlers.slack.clients import SlackClients

log = logging.getLogger(__name__)


def register(app: App, clients: SlackClients) -> None:
    if clients.installations is None:

        @app.event("app_uninstalled")
        def on_uninstalled_single(context: BoltContext) -> None:
            log.warning("uninstalled from workspace %s: SLACK_BOT_TOKEN is dead", context.team_id)

        @app.event("tokens_revoked")
        def on_revoked_single(context: BoltContext) -> None:
            log.warning("tokens revoked in workspace %s", context.team_id)

        return

    delete_all = app.default_app_uninstalled_event_listener()
    delete_revoked = app.default_tokens_revoked_event_listener()

    @app.event("app_uninstalled")
    def on_uninstalled(context: BoltContext) -> None:
        delete_all(context=context)
        clients.forget(context.team_id)
        log.info("uninstalled from workspace %s: its installation is deleted", context.team_id)

    @app.event("tokens_revoked")
    def on_tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
        delete_revoked(event=event, context=context)
        if (event.get("tokens") or {}).get("bot"):
            clients.forget(context.team_id)
            log.info("bot token revoked in workspace %s: it is deleted", context.team_id)
