"""Durable work the Slack listeners hand off: each function runs one task's payload."""

from __future__ import annotations

from functools import partial
from typing import Any

from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.command import run_command
from handlers.slack.tasks.fix import run_fix
from handlers.slack.tasks.intake import run_intake
from handlers.slack.tasks.start import run_start

INTAKE = "slack.intake"
START = "slack.start"
FIX = "slack.fix"
COMMAND = "slack.command"


def task_handlers(deps: SlackDeps) -> dict[str, Any]:
    """Task kind to handler, for the process's task runner."""
    return {
        INTAKE: partial(run_intake, deps),
        START: partial(run_start, deps),
        FIX: partial(run_fix, deps),
        COMMAND: partial(run_command, deps),
    }
