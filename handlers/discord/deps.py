"""What the Discord front end needs from the rest of the process, handed in by `bot/`.

Listeners (on the client's loop) and task handlers (on the task runner's threads) share this;
the bridge is how task handlers reach Discord.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.conversations import BindingStore
from finetuning.credentials import Accounts, WorkspaceKeys
from finetuning.datasets.library import DatasetLibrary
from finetuning.datasets.models import ModelCatalog
from finetuning.jobs import JobService
from finetuning.team import BudgetBook, TeamPolicy
from finetuning.team.approvals import Approvals
from handlers.discord.bridge import DiscordBridge

Enqueue = Callable[[str, str, dict[str, Any]], bool]
"""Write a durable task (kind, idempotency key, payload); False when the key was taken."""
EnqueueIn = Callable[[Session, str, str, dict[str, Any]], Callable[[], None]]
"""Write a durable task in the caller's transaction; call the result after the commit."""


@dataclass(frozen=True)
class DiscordDeps:
    """Services and settings shared by the Discord listeners and task handlers."""

    bridge: DiscordBridge
    factory: sessionmaker[Session]
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
    audit: AuditLog
    policy: TeamPolicy
    budgets: BudgetBook
    approvals: Approvals
    bindings: BindingStore
    """Which model answers where: talking uses it, and `/finetune status` shows it."""
    admin_channel: int | None = None
    """Where approval requests go; None: each TUNEBOT_ADMINS person's DMs, else the requester's
    thread, where an admin can click."""
    guild_ids: tuple[int, ...] = ()
    """Guilds to register the commands in at once; empty: globally."""
    command: str = "/finetune"
