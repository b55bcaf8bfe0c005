"""What the Slack front end needs from the rest of the process, handed in by `bot/`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from slack_sdk import WebClient

from finetuning.datasets.library import DatasetLibrary
from finetuning.datasets.models import ModelCatalog
from finetuning.jobs import JobService
from finetuning.provider import OpenAIProvider

Enqueue = Callable[[str, str, dict[str, Any]], bool]
"""Write a durable task (kind, idempotency key, payload); False when the key was taken."""


@dataclass(frozen=True)
class SlackDeps:
    """Services and settings shared by the listeners and the task handlers."""

    client: WebClient
    bot_token: str
    library: DatasetLibrary
    jobs: JobService
    provider: OpenAIProvider
    catalog: ModelCatalog
    default_model: str
    enqueue: Enqueue
    file_hosts: list[str]
    max_upload_bytes: int
    data_dir: Path
    http: httpx.Client
    command: str = "/finetune"
