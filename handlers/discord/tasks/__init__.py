"""Durable work the Discord listeners hand off: each function runs one task's payload.

Kinds are named `discord.*`, beside Slack's `slack.*`, in the same task queue and runner.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from handlers.discord.deps import DiscordDeps
from handlers.discord.talk_deps import TalkDeps
from handlers.discord.tasks.approve import run_decision
from handlers.discord.tasks.ask import run_ask, run_compare
from handlers.discord.tasks.audit import run_audit
from handlers.discord.tasks.bind import run_bind
from handlers.discord.tasks.command import run_command
from handlers.discord.tasks.fix import run_fix
from handlers.discord.tasks.intake import run_intake
from handlers.discord.tasks.start import run_start
from handlers.discord.tasks.talk import run_talk
from handlers.discord.tasks.workspace_key import run_workspace_key

INTAKE = "discord.intake"
START = "discord.start"
FIX = "discord.fix"
COMMAND = "discord.command"
AUDIT = "discord.audit"
DECISION = "discord.decision"
WORKSPACE_KEY = "discord.workspace_key"
TALK = "discord.talk"
BIND = "discord.bind"
ASK = "discord.ask"
COMPARE = "discord.compare"

Handler = Callable[[dict[str, Any]], None]


def task_handlers(deps: DiscordDeps) -> dict[str, Handler]:
    """Task kind to handler, for the process's task runner (its default pool)."""
    handlers: dict[str, Callable[[DiscordDeps, dict[str, Any]], None]] = {
        INTAKE: run_intake,
        START: run_start,
        FIX: run_fix,
        COMMAND: run_command,
        DECISION: run_decision,
        AUDIT: run_audit,
        WORKSPACE_KEY: run_workspace_key,
    }
    return {kind: partial(run, deps) for kind, run in handlers.items()}


def chat_handlers(deps: TalkDeps) -> dict[str, Handler]:
    """Task kinds that talk to models, for the runner's chat pool: a reply streams for as
    long as the model writes, and must not hold up dataset checks (nor wait behind them)."""
    handlers: dict[str, Callable[[TalkDeps, dict[str, Any]], None]] = {
        TALK: run_talk,
        BIND: run_bind,
        ASK: run_ask,
        COMPARE: run_compare,
    }
    return {kind: partial(run, deps) for kind, run in handlers.items()}
