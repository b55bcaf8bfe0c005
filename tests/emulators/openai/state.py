"""Everything the emulated account holds, behind one lock.

Routes, the job clock and the test-facing controls all take `state.lock` before touching
anything here; `state.changed` (a condition on that lock) wakes the clock and `wait_for`.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .script import JobScript
from .signing import new_secret

ChatReply = str | Callable[[list[dict[str, Any]]], str]
ScriptChoice = JobScript | Callable[[dict[str, Any]], JobScript]
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
# Every byte value mapped onto [A-Za-z0-9], so an id is one `randbytes` call (bulk jobs need
# thousands); the slight bias towards the first characters does not matter for ids.
_ALPHANUMERIC = (string.ascii_letters + string.digits).encode()
ID_CHARACTERS = bytes(_ALPHANUMERIC[n % len(_ALPHANUMERIC)] for n in range(256))


@dataclass
class EmulatorConfig:
    """Knobs a test may turn at any time (reads are single attribute loads, so no lock)."""

    api_key: str
    organization: str = "tunebot-emulator"
    organization_id: str = "org-emulator"
    script: ScriptChoice = field(default_factory=JobScript)
    speed: float = 1.0
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    chat_reply: ChatReply = "Hello from the emulated model."
    tokens_per_second: float = 0.0
    stream_error_after: int | None = None
    """A streamed answer breaks off after this many tokens with an in-stream server error."""
    context_window: int | None = None
    results_base64: bool = True
    seed: int = 0
    webhook_url: str | None = None
    webhook_secret: str = field(default_factory=new_secret)
    webhooks_enabled: bool = True
    webhook_duplicate: bool = False
    webhook_retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0)
    webhook_timeout: float = 5.0


@dataclass
class FileRecord:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }


@dataclass
class UploadRecord:
    id: str
    filename: str
    purpose: str
    size: int
    mime_type: str
    created_at: int
    status: str = "pending"
    parts: dict[str, bytes] = field(default_factory=dict)
    file: FileRecord | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "upload",
            "bytes": self.size,
            "created_at": self.created_at,
            "expires_at": self.created_at + 3600,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status,
            "file": self.file.to_api() if self.file else None,
        }


@dataclass
class JobRecord:
    id: str
    created_at: int
    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int
    metadata: dict[str, str] | None
    method_type: str
    requested: dict[str, Any]
    script: JobScript
    planned_model: str
    organization_id: str
    status: str = "validating_files"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    estimated_finish: int | None = None
    trained_tokens: int | None = None
    result_files: list[str] = field(default_factory=list)
    examples: int = 0
    words: int = 0
    step: int = 0
    total_steps: int = 0
    forced_outcome: str | None = None
    deadline: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def to_api(self) -> dict[str, Any]:
        method: dict[str, Any] = {
            "type": self.method_type,
            self.method_type: {"hyperparameters": dict(self.hyperparameters)},
        }
        return {
            "id": self.id,
            "object": "fine_tuning.job",
            "created_at": self.created_at,
            "error": dict(self.error) if self.error else None,
            "fine_tuned_model": self.fine_tuned_model,
            "finished_at": self.finished_at,
            "hyperparameters": {
                key: value
                for key, value in self.hyperparameters.items()
                if key in ("n_epochs", "batch_size", "learning_rate_multiplier")
            },
            "model": self.model,
            "organization_id": self.organization_id,
            "result_files": list(self.result_files),
            "seed": self.seed,
            "status": self.status,
            "trained_tokens": self.trained_tokens,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "estimated_finish": self.estimated_finish,
            "integrations": [],
            "metadata": dict(self.metadata) if self.metadata is not None else None,
            "method": method,
            "user_provided_suffix": self.suffix,
        }


@dataclass
class ModelRecord:
    id: str
    created: int
    owned_by: str

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
        }


@dataclass
class CompletionRecord:
    """One answered chat or legacy completion request: what was asked, and when its first and
    last tokens left the emulator (wall-clock `time.time()`, None until sent)."""

    id: str
    endpoint: str  # "chat" or "completions"
    model: str
    body: dict[str, Any]
    received_at: float
    first_token_at: float | None = None
    last_token_at: float | None = None


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.files: dict[str, FileRecord] = {}
        self.uploads: dict[str, UploadRecord] = {}
        self.jobs: dict[str, JobRecord] = {}
        self.models: dict[str, ModelRecord] = {}
        self.completions: list[CompletionRecord] = []
        self.timers: list[tuple[float, str]] = []  # a heap of (deadline, job id); stale allowed
        self.job_listeners: list[Callable[[JobRecord], None]] = []
        self.announce_endings = True
        self._job_ids: list[str] = []
        self._job_positions: dict[str, int] = {}
        self._random = random.Random(config.seed)

    def add_job(self, job: JobRecord) -> None:
        self.jobs[job.id] = job
        self._job_positions[job.id] = len(self._job_ids)
        self._job_ids.append(job.id)

    def job_order(self) -> tuple[list[str], dict[str, int]]:
        """Job ids oldest first and each id's position, so a list page costs O(page).

        Jobs are never removed, so the two only drift if a test writes `jobs` directly;
        then they are rebuilt once.
        """
        if len(self._job_ids) != len(self.jobs):
            self._job_ids = list(self.jobs)
            self._job_positions = {job_id: n for n, job_id in enumerate(self._job_ids)}
        return self._job_ids, self._job_positions

    def job_ended(self, job: JobRecord) -> None:
        """Tell listeners (the webhook sender) that a job reached a terminal status."""
        if self.announce_endings:
            for listener in self.job_listeners:
                listener(job)

    def new_id(self, prefix: str, length: int = 24) -> str:
        """Letters and digits from the seeded generator: the same seed gives the same ids."""
        return prefix + self._random.randbytes(length).translate(ID_CHARACTERS).decode()

    def new_seed(self) -> int:
        return self._random.randrange(2**31)

    @staticmethod
    def now() -> int:
        return int(time.time())

    def add_event(
        self,
        job: JobRecord,
        message: str,
        *,
        level: str = "info",
        kind: str = "message",
        data: dict[str, Any] | None = None,
    ) -> None:
        job.events.append(
            {
                "id": self.new_id("ftevent-"),
                "object": "fine_tuning.job.event",
                "created_at": self.now(),
                "level": level,
                "message": message,
                "data": data if data is not None else {},
                "type": kind,
            }
        )

    def script_for(self, request: dict[str, Any]) -> JobScript:
        choice = self.config.script
        return choice if isinstance(choice, JobScript) else choice(request)

    def seconds(self, duration: float) -> float:
        """A script duration in wall seconds under the current speed multiplier."""
        speed = self.config.speed
        return duration / speed if speed > 0 else duration
