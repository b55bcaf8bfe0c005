"""What the rest of tunebot sees of OpenAI objects: frozen plain values, no SDK types.

Storage, the job follower and the chat renderers keep and compare these; holding plain strings,
ints and aware datetimes means an SDK upgrade (or a status the SDK does not know yet, such as
``paused``) can never reach past the provider package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class JobSnapshot:
    """A fine-tuning job as the API last described it.

    `status` is whatever the API said, known value or not. `n_epochs` is the resolved number once
    the service has picked one, None while it is still "auto". `suffix` is the user's suffix.
    """

    id: str
    status: str
    model: str
    training_file: str
    created_at: datetime
    validation_file: str | None = None
    fine_tuned_model: str | None = None
    finished_at: datetime | None = None
    estimated_finish: datetime | None = None
    trained_tokens: int | None = None
    n_epochs: int | None = None
    method: str = "supervised"
    error_code: str | None = None
    error_message: str | None = None
    error_param: str | None = None
    result_files: tuple[str, ...] = ()
    suffix: str | None = None
    seed: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def user_provided_suffix(self) -> str | None:
        """The API's name for `suffix`."""
        return self.suffix


@dataclass(frozen=True)
class JobEventSnapshot:
    """One line of a job's log; `type` is ``metrics`` for per-step numbers held in `data`."""

    id: str
    created_at: datetime
    level: str
    type: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckpointSnapshot:
    """A usable intermediate model saved at the end of an epoch."""

    id: str
    created_at: datetime
    fine_tuned_model_checkpoint: str
    step_number: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSnapshot:
    """A fine-tuned model the account owns (``ft:{base}:{org}:{suffix}:{id}``)."""

    id: str
    created_at: datetime
    owned_by: str
    base_model: str | None = None
    suffix: str | None = None
