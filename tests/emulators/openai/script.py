"""How a fine-tuning job plays out: the timings and the ending a test asks for.

A job copies the script in force when it is created, so changing `emu.script` mid-test affects
only jobs created afterwards (use `emu.set_script(job_id, ...)` to re-script a live one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["succeeded", "failed", "cancelled"]

GENERIC_FAILURE: dict[str, Any] = {
    "code": "internal_error",
    "message": "The job failed due to an internal error.",
    "param": None,
}


@dataclass(frozen=True)
class JobScript:
    """Durations are seconds at `speed` 1 (the emulator divides them by its `speed`).

    `steps` is the number of training steps reported (one metrics event each). With
    `outcome="failed"` the job fails after `fail_after_steps` steps (default: all of them) with
    `error` (default: a generic internal error); `outcome="cancelled"` ends it as if cancelled
    elsewhere. `manual=True` freezes the clock for this job: only `advance`/`finish` move it.
    """

    validating_s: float = 0.1
    queued_s: float = 0.1
    steps: int = 10
    step_s: float = 0.05
    outcome: Outcome = "succeeded"
    error: dict[str, Any] | None = None
    fail_after_steps: int | None = None
    manual: bool = False

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("a job needs at least one step")
        if self.outcome not in ("succeeded", "failed", "cancelled"):
            raise ValueError(f"unknown outcome {self.outcome!r}")

    def failure(self) -> dict[str, Any]:
        return dict(self.error or GENERIC_FAILURE)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobScript:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})
