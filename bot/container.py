"""The composition root: settings in, a wired process out. The only place that knows every part."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import httpx
import openai
from slack_bolt import App
from sqlalchemy import Engine

from bot.discord_front import DiscordFront, TalkServices, build_discord
from bot.scheduler import FollowScheduler
from bot.server import WebhookHandler
from bot.settings import Settings
from bot.slack_install import slack_connection
from bot.worker import TaskRunner
from finetuning.audit import AuditLog
from finetuning.conversations import (
    BindingStore,
    ConversationStore,
    ModelProfiles,
    ModelResolver,
    Talk,
)
from finetuning.credentials import Accounts, SecretBox, WorkspaceKeys
from finetuning.datasets.engine import ValidationSettings
from finetuning.datasets.library import DatasetLibrary
from finetuning.datasets.models import default_catalog
from finetuning.datasets.tokenizer import get_encoding
from finetuning.follow.follower import Follower
from finetuning.follow.outbox import Outbox
from finetuning.jobs import JobService
from finetuning.overview import HomeViewers
from finetuning.platforms import Platform
from finetuning.provider import ProviderSettings
from finetuning.provider.webhooks import WebhookRejectedError, job_from_webhook
from finetuning.team import BudgetBook, BudgetLimits, TeamPolicy
from finetuning.team.approvals import Approvals
from handlers.slack.admins import AdminDirectory
from handlers.slack.app import build_app
from handlers.slack.deps import SlackDeps
from handlers.slack.flood import FloodLimit
from handlers.slack.follow import SlackFollowNotifier
from handlers.slack.home import HomePublisher
from handlers.slack.streaming import NativeStreamingMemo, ReplyStreamer
from handlers.slack.tasks import chat_handlers, task_handlers
from storage.db import make_engine, make_session_factory
from storage.leases import LeaseStore
from storage.migrate import upgrade
from storage.tasks import TaskQueue

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a running server holds, to start and stop it as one."""

    settings: Settings
    engine: Engine
    runner: TaskRunner
    slack_app: App | None
    scheduler: FollowScheduler
    openai_webhook: WebhookHandler | None
    discord: DiscordFront | None = None

    def start(self) -> None:
        self.runner.start()
        if self.discord is not None:
            self.discord.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
        if self.discord is not None:
            self.discord.stop()
        self.runner.stop(wait=False)
        self.engine.dispose()


def build_runtime(
    settings: Settings, platforms: frozenset[Platform] = frozenset({Platform.SLACK})
) -> Runtime:
    """Migrate the database, then build and connect every service of the chosen platforms."""
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    catalog = default_catalog().with_prices(settings.tunebot_prices)
    # Build the tokenizers now, not under the first replies: building o200k holds the GIL for
    # half a second, which would freeze every reply already streaming at that moment.
    for encoding in sorted({model.encoding for model in catalog.models}):
        get_encoding(encoding)
    audit = AuditLog(factory)
    library = DatasetLibrary(
        factory,
        settings.tunebot_data_dir,
        ValidationSettings(
            default_model=settings.tunebot_default_model,
            workers=settings.tunebot_workers,
            catalog=catalog,
        ),
        audit=audit,
    )
    keys = WorkspaceKeys(
        factory,
        SecretBox(settings.tunebot_secret_key) if settings.tunebot_secret_key else None,
        audit=audit,
    )
    accounts = Accounts(
        keys,
        operator=(
            ProviderSettings(
                api_key=settings.openai_api_key,
                base_url=settings.openai_base_url,
                organization=settings.openai_org_id,
                project=settings.openai_project_id,
            )
            if settings.openai_api_key
            else None
        ),
        base_url=settings.openai_base_url,
    )
    budgets = BudgetBook(
        factory,
        BudgetLimits(
            workspace_usd=_usd(settings.tunebot_monthly_budget_usd),
            user_usd=_usd(settings.tunebot_user_monthly_budget_usd),
        ),
    )
    jobs = JobService(
        factory,
        library,
        accounts,
        catalog,
        settings.tunebot_default_model,
        audit=audit,
        budgets=budgets,
        approval_usd=_usd(settings.tunebot_approval_usd),
    )
    queue = TaskQueue(factory)
    released = queue.release_orphaned_leases()
    if released:
        log.info("resuming %d task(s) a previous run on this host left unfinished", released)
    runner = TaskRunner(queue, {}, workers=settings.tunebot_task_workers)
    resolver = ModelResolver(jobs, catalog, accounts)
    clients, oauth = slack_connection(settings, engine)
    deps = SlackDeps(
        clients=clients,
        library=library,
        jobs=jobs,
        accounts=accounts,
        keys=keys,
        catalog=catalog,
        default_model=settings.tunebot_default_model,
        enqueue=runner.enqueue,
        enqueue_in=runner.enqueue_in,
        file_hosts=settings.slack_file_hosts,
        max_upload_bytes=settings.tunebot_max_upload_mb << 20,
        data_dir=settings.tunebot_data_dir,
        http=httpx.Client(follow_redirects=False),
        bindings=BindingStore(factory, audit=audit),
        conversations=ConversationStore(factory),
        resolver=resolver,
        talk=Talk(accounts, ModelProfiles(factory, catalog), resolver),
        streamer=ReplyStreamer(
            clients,
            NativeStreamingMemo(),
            update_interval=settings.tunebot_stream_update_seconds,
        ),
        stream_update_seconds=settings.tunebot_stream_update_seconds,
        admins=AdminDirectory(clients, settings.tunebot_admins),
        audit=audit,
        policy=TeamPolicy(settings.tunebot_allowed_users, settings.tunebot_allowed_channels),
        budgets=budgets,
        approvals=Approvals(factory, jobs, audit),
        admin_channel=settings.tunebot_admin_channel,
        flood=FloodLimit(settings.tunebot_user_commands_per_minute),
    )
    runner.register(task_handlers(deps))
    runner.register(chat_handlers(deps), pool="chat", workers=settings.tunebot_chat_workers)
    home = HomePublisher(clients, library, jobs, HomeViewers(factory))
    slack = Platform.SLACK in platforms
    app = build_app(deps, settings.slack_signing_secret or "", home, oauth=oauth) if slack else None
    notifier = SlackFollowNotifier(
        clients=clients,
        jobs=jobs,
        outbox=Outbox(factory),
        factory=factory,
        accounts=accounts,
        home=home,
    )
    discord = (
        build_discord(
            settings,
            factory=factory,
            runner=runner,
            library=library,
            jobs=jobs,
            accounts=accounts,
            keys=keys,
            catalog=catalog,
            audit=audit,
            budgets=budgets,
            approvals=deps.approvals,
            data_dir=settings.tunebot_data_dir,
            talk=TalkServices(deps.bindings, deps.conversations, deps.resolver, deps.talk),
        )
        if Platform.DISCORD in platforms
        else None
    )
    notifiers = [notifier.run] if slack else []
    if discord is not None:
        notifiers.append(discord.notifier.run)
    scheduler = FollowScheduler(
        Follower(factory, accounts, catalog, audit=audit),
        _each(notifiers),
        LeaseStore(factory),
        poll_seconds=settings.tunebot_poll_seconds,
    )
    webhook: WebhookHandler | None = None
    secret = settings.openai_webhook_secret
    if secret:
        # Verifying a delivery needs only the secret; the SDK wants a client to hang the
        # method on, and this one never sends a request, so it needs no real key.
        verifier = openai.OpenAI(api_key="webhook-verification-only")

        def webhook(body: bytes, headers: dict[str, str]) -> int:
            try:
                job_id = job_from_webhook(verifier, body, headers, secret)
            except WebhookRejectedError as exc:
                log.warning("refused an OpenAI webhook delivery: %s", exc)
                return 400
            if job_id is not None:
                scheduler.refresh_soon(job_id)
            return 200

    return Runtime(
        settings=settings,
        engine=engine,
        runner=runner,
        slack_app=app,
        scheduler=scheduler,
        openai_webhook=webhook,
        discord=discord,
    )


def _each(notifiers: list[Callable[[], None]]) -> Callable[[], None]:
    """One notify callback for the scheduler: every configured platform's notifier in turn, one
    failing not keeping the others from their round."""

    def notify() -> None:
        for run in notifiers:
            try:
                run()
            except Exception:
                log.exception("a notifier round failed; the next tick carries on")

    return notify


def _usd(value: float | None) -> Decimal | None:
    """A dollar setting as the exact amount people typed (floats would compare 0.1 oddly)."""
    return None if value is None else Decimal(str(value))
