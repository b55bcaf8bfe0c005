"""What the Slack front end needs from the rest of the process, handed in by `bot/`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from finetuning.audit import AuditLog
from finetuning.conversations import BindingStore, ConversationStore, ModelResolver, Talk
from finetuning.credentials import Accounts, WorkspaceKeys
from finetuning.datasets.library import DatasetLibrary
from finetuning.datasets.models import ModelCatalog
from finetuning.jobs import JobService
from finetuning.team import BudgetBook, TeamPolicy
from finetuning.team.approvals import Approvals
from handlers.slack.admins import AdminDirectory
from handlers.slack.clients import SlackClients
from handlers.slack.flood import FloodLimit
from handlers.slack.streaming import ReplyStreamer

Enqueue = Callable[[str, str, dict[str, Any]], bool]
"""Write a durable task (kind, idempotency key, payload); False when the key was taken."""
EnqueueIn = Callable[[Session, str, str, dict[str, Any]], Callable[[], None]]
"""Write a durable task in the caller's transaction; call the result after the commit."""


@dataclass(frozen=True)
class SlackDeps:
    """Services and settings shared by the listeners and the task handlers."""

    clients: SlackClients
    """Every Slack call goes through `clients.for_team(team)`, with that workspace's token."""
    library: DatasetLibrary
    jobs: JobService
    accounts: Accounts
    keys: WorkspaceKeys
    catalog: ModelCatalog
    default_model: str
    enqueue: Enqueue
    enqueue_in: EnqueueIn
    file_hosts: list[str]
    max_upload_bytes: int
    data_dir: Path
    http: httpx.Client
    bindings: BindingStore
    conversations: ConversationStore
    resolver: ModelResolver
    talk: Talk
    streamer: ReplyStreamer
    admins: AdminDirectory
    audit: AuditLog
    policy: TeamPolicy
    budgets: BudgetBook
    approvals: Approvals
    stream_update_seconds: float = 1.0
    command: str = "/finetune"
    admin_channel: str | None = None
    """Where approval requests go; None: a direct message to each configured admin."""
    flood: FloodLimit = field(default_factory=FloodLimit)
