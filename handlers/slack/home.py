"""Publishing the Home tab: when someone opens it, and when a job of their workspace changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from finetuning.datasets.library import DatasetLibrary
from finetuning.jobs import JobService
from finetuning.overview import HomeViewers, overview
from handlers.slack.blocks.home import home_view
from handlers.slack.clients import SlackClients, WorkspaceNotInstalledError

log = logging.getLogger(__name__)


@dataclass
class HomePublisher:
    clients: SlackClients
    library: DatasetLibrary
    jobs: JobService
    viewers: HomeViewers
    command: str = "/finetune"

    def opened(self, workspace_id: str, user_id: str) -> None:
        self.viewers.opened(workspace_id, user_id)
        self.publish(workspace_id, [user_id])

    def publish(self, workspace_id: str, users: list[str]) -> None:
        try:
            client = self.clients.for_team(workspace_id)
        except WorkspaceNotInstalledError as gone:
            log.info("no Home tab to publish: %s", gone)
            return
        view = home_view(overview(self.library, self.jobs, workspace_id), command=self.command)
        for user in users:
            try:
                client.views_publish(user_id=user, view=view)
            except SlackApiError as exc:
                log.warning("could not publish the Home tab of %s: %s", user, exc)

    def refresh(self, workspace_ids: set[str]) -> None:
        """Republish for everyone who looked recently, in the workspaces that changed."""
        if not workspace_ids:
            return
        for workspace_id, users in self.viewers.recent().items():
            if workspace_id in workspace_ids:
                self.publish(workspace_id, users)
