"""Wiring the Discord front end: the client, its runner thread, listeners, tasks, notifier.

Kept apart from `bot.container` so that the Slack wiring there and the Discord wiring here can
change independently; the container hands over the core services it built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from bot.worker import TaskRunner
from finetuning.audit import AuditLog
from finetuning.conversations import BindingStore, ConversationStore, ModelResolver, Talk
from finetuning.credentials import Accounts, WorkspaceKeys
from finetuning.datasets.library import DatasetLibrary
from finetuning.datasets.models import ModelCatalog
from finetuning.follow.outbox import Outbox
from finetuning.jobs import JobService
from finetuning.team import BudgetBook, TeamPolicy
from finetuning.team.approvals import Approvals
from handlers.discord.client import TunebotClient
from handlers.discord.deps import DiscordDeps
from handlers.discord.endpoints import use_discord_api
from handlers.discord.follow import DiscordFollowNotifier
from handlers.discord.listeners import register_all, register_talk
from handlers.discord.runner import DiscordRunner
from handlers.discord.streaming import edit_budget
from handlers.discord.talk_deps import TalkDeps
from handlers.discord.tasks import chat_handlers, task_handlers

log = logging.getLogger(__name__)


@dataclass
class DiscordFront:
    """The running Discord side of the process."""

    deps: DiscordDeps
    runner: DiscordRunner
    notifier: DiscordFollowNotifier

    def start(self) -> None:
        self.runner.start()
        log.info("logged in to Discord")

    def stop(self) -> None:
        self.runner.stop()


@dataclass(frozen=True)
class TalkServices:
    """The core's conversation services, shared with the Slack front end."""

    bindings: BindingStore
    conversations: ConversationStore
    resolver: ModelResolver
    talk: Talk


def build_discord(
    settings: Settings,
    *,
    factory: sessionmaker[Session],
    runner: TaskRunner,
    library: DatasetLibrary,
    jobs: JobService,
    accounts: Accounts,
    keys: WorkspaceKeys,
    catalog: ModelCatalog,
    audit: AuditLog,
    budgets: BudgetBook,
    approvals: Approvals,
    data_dir: Path,
    talk: TalkServices,
) -> DiscordFront:
    """Everything Discord needs, registered with the task runner; not yet connected."""
    use_discord_api(settings.discord_api_url or None)
    guild_ids = tuple(int(g) for g in settings.discord_guild_ids)
    client = TunebotClient(guild_ids=guild_ids)
    deps = DiscordDeps(
        bridge=client.bridge,
        factory=factory,
        library=library,
        jobs=jobs,
        accounts=accounts,
        keys=keys,
        catalog=catalog,
        default_model=settings.tunebot_default_model,
        enqueue=runner.enqueue,
        enqueue_in=runner.enqueue_in,
        file_hosts=settings.discord_file_hosts,
        max_upload_bytes=settings.tunebot_max_upload_mb << 20,
        data_dir=data_dir,
        http=httpx.Client(follow_redirects=False),
        audit=audit,
        policy=TeamPolicy(
            settings.tunebot_allowed_users,
            settings.tunebot_allowed_channels,
            allowed_roles=settings.discord_allowed_roles,
            admin_roles=settings.discord_admin_roles,
            admins=settings.tunebot_admins,
        ),
        budgets=budgets,
        approvals=approvals,
        bindings=talk.bindings,
        admin_channel=int(settings.discord_admin_channel)
        if settings.discord_admin_channel
        else None,
        guild_ids=guild_ids,
    )
    register_all(client, deps)
    runner.register(task_handlers(deps))
    talk_deps = TalkDeps(
        base=deps,
        conversations=talk.conversations,
        resolver=talk.resolver,
        talk=talk.talk,
        edits=edit_budget(),
        update_seconds=settings.tunebot_stream_update_seconds,
    )
    register_talk(client, talk_deps)
    runner.register(chat_handlers(talk_deps), pool="chat", workers=settings.tunebot_chat_workers)
    notifier = DiscordFollowNotifier(
        bridge=client.bridge, jobs=jobs, outbox=Outbox(factory), factory=factory, accounts=accounts
    )
    return DiscordFront(
        deps=deps,
        runner=DiscordRunner(client, client.bridge, settings.discord_bot_token or ""),
        notifier=notifier,
    )
