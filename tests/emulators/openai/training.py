"""Reading a training file the way the service does, and the numbers a run reports.

Everything here is deterministic so tests can assert exact values:
- an *example* is a non-blank JSONL line;
- `trained_tokens` = whitespace-separated words of the training file x resolved `n_epochs`;
- the loss curve is a decaying exponential plus a small ripple, shaped by the job's seed.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

MIN_EXAMPLES = 10
TARGET_EXAMPLE_EPOCHS = (100, 25_000)
MAX_DEFAULT_EPOCHS = 25
RESULTS_HEADER = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"


class InvalidTrainingFileError(Exception):
    """The file cannot be trained on; the message is the API's detail text."""


@dataclass(frozen=True)
class TrainingStats:
    examples: int
    words: int


@functools.lru_cache(maxsize=32)
def inspect_file(content: bytes, *, shape: str, minimum: int = MIN_EXAMPLES) -> TrainingStats:
    """Check every line has the shape the method needs (`chat`, `prompt` or `dpo`).

    Cached by content: seeded benches validate one shared file for thousands of jobs.
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidTrainingFileError(
            "Invalid file format. The file must be UTF-8 encoded."
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        try:
            example = json.loads(line)
        except ValueError:
            raise InvalidTrainingFileError(
                f"Invalid file format. Line {number}: the line is not valid JSON."
            ) from None
        missing = _missing_key(example, shape)
        if missing:
            raise InvalidTrainingFileError(
                f"Invalid file format. Example {number}: missing required key '{missing}'."
            )
    if len(lines) < minimum:
        raise InvalidTrainingFileError(
            f"Training file has {len(lines)} example(s), but must have at least {minimum} examples"
        )
    return TrainingStats(examples=len(lines), words=len(text.split()))


def _missing_key(example: Any, shape: str) -> str | None:
    required = {
        "chat": ("messages",),
        "prompt": ("prompt", "completion"),
        "dpo": ("input", "preferred_output", "non_preferred_output"),
    }[shape]
    if not isinstance(example, dict):
        return required[0]
    return next((key for key in required if key not in example), None)


def default_epochs(examples: int) -> int:
    """The service's rule: 3, raised or lowered so examples x epochs lands in [100, 25000]."""
    low, high = TARGET_EXAMPLE_EPOCHS
    epochs = 3
    if examples * epochs < low:
        epochs = min(MAX_DEFAULT_EPOCHS, math.ceil(low / examples))
    elif examples * epochs > high:
        epochs = max(1, high // examples)
    return epochs


def default_batch_size(examples: int) -> int:
    """About 0.2 % of the examples, between 1 and 256."""
    return max(1, min(256, math.ceil(examples * 0.002)))


def metrics_at(step: int, total: int, seed: int, *, validation: bool) -> dict[str, Any]:
    """The `data` of the metrics event for one step (valid_* only with a validation file)."""
    start = 1.6 + (seed % 97) / 200
    floor = 0.25 + (seed % 13) / 100
    progress = step / total
    ripple = 0.04 * math.sin(step * 1.7 + seed)
    train_loss = floor + (start - floor) * math.exp(-3.2 * progress) + ripple * (1 - progress)
    data: dict[str, Any] = {
        "step": step,
        "train_loss": round(train_loss, 5),
        "train_mean_token_accuracy": _accuracy(train_loss),
        "total_steps": total,
    }
    if validation:
        valid_loss = train_loss * 1.07 + 0.03
        data["valid_loss"] = round(valid_loss, 5)
        data["valid_mean_token_accuracy"] = _accuracy(valid_loss)
    return data


def _accuracy(loss: float) -> float:
    return round(max(0.0, min(1.0, 1.0 - loss / 2.6)), 5)


def results_csv(metrics: list[dict[str, Any]]) -> str:
    """The results file the service attaches to a succeeded job (one row per step)."""
    rows = [RESULTS_HEADER]
    for data in metrics:
        valid_loss = data.get("valid_loss", "")
        valid_accuracy = data.get("valid_mean_token_accuracy", "")
        rows.append(
            f"{data['step']},{data['train_loss']},{data['train_mean_token_accuracy']},"
            f"{valid_loss},{valid_accuracy}"
        )
    return "\n".join(rows) + "\n"
