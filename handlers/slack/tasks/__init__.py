"""Durable work the Slack listeners hand off: each function runs one task's payload."""

from __future__ import annotations

from functools import partial
from typing import Any

from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.approve import run_decision
from handlers.slack.tasks.ask import run_ask, run_compare
from handlers.slack.tasks.audit import run_audit
from handlers.slack.tasks.bind import run_bind
from handlers.slack.tasks.command import run_command
from handlers.slack.tasks.fix import run_fix
from handlers.slack.tasks.intake import run_intake
from handlers.slack.tasks.start import run_start
from handlers.slack.tasks.talk import run_talk
from handlers.slack.tasks.workspace_key import run_workspace_key

INTAKE = "slack.intake"
START = "slack.start"
FIX = "slack.fix"
COMMAND = "slack.command"
BIND = "slack.bind"
TALK = "slack.talk"
ASK = "slack.ask"
COMPARE = "slack.compare"
AUDIT = "slack.audit"
DECISION = "slack.decision"
WORKSPACE_KEY = "slack.workspace_key"


def task_handlers(deps: SlackDeps) -> dict[str, Any]:
    """Task kind to handler, for the process's task runner (its default pool)."""
    return {
        INTAKE: partial(run_intake, deps),
        START: partial(run_start, deps),
        FIX: partial(run_fix, deps),
        COMMAND: partial(run_command, deps),
        BIND: partial(run_bind, deps),
        AUDIT: partial(run_audit, deps),
        DECISION: partial(run_decision, deps),
        WORKSPACE_KEY: partial(run_workspace_key, deps),
    }


def chat_handlers(deps: SlackDeps) -> dict[str, Any]:
    """Replies that stream for as long as the model writes: they get a pool of their own."""
    return {
        TALK: partial(run_talk, deps),
        ASK: partial(run_ask, deps),
        COMPARE: partial(run_compare, deps),
    }
