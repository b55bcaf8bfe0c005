"""SDK objects to snapshots, defensively: missing fields, unknown values and "auto" survive.

The SDK builds its models without validation, so a field may be absent in an older SDK, hold a
value newer than its type hints (a ``paused`` status), or be an empty error object on a job
that never failed; every reader here tolerates all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .snapshots import CheckpointSnapshot, JobEventSnapshot, JobSnapshot, ModelSnapshot


def job_snapshot(job: Any) -> JobSnapshot:
    error = getattr(job, "error", None)
    fine_tuned_model = _str(getattr(job, "fine_tuned_model", None))
    return JobSnapshot(
        id=str(job.id),
        status=str(getattr(job, "status", None) or "unknown"),
        model=str(getattr(job, "model", "") or ""),
        training_file=str(getattr(job, "training_file", "") or ""),
        created_at=_time(getattr(job, "created_at", None)) or datetime.fromtimestamp(0, UTC),
        validation_file=_str(getattr(job, "validation_file", None)),
        fine_tuned_model=fine_tuned_model,
        finished_at=_time(getattr(job, "finished_at", None)),
        estimated_finish=_time(getattr(job, "estimated_finish", None)),
        trained_tokens=_int(getattr(job, "trained_tokens", None)),
        n_epochs=_epochs(job),
        method=_method_type(job),
        error_code=_str(getattr(error, "code", None)),
        error_message=_str(getattr(error, "message", None)),
        error_param=_str(getattr(error, "param", None)),
        result_files=tuple(str(f) for f in getattr(job, "result_files", None) or ()),
        suffix=_str(getattr(job, "user_provided_suffix", None)) or _suffix_of(fine_tuned_model),
        seed=_int(getattr(job, "seed", None)),
        metadata=_str_dict(getattr(job, "metadata", None)),
    )


def event_snapshot(event: Any) -> JobEventSnapshot:
    data = getattr(event, "data", None)
    return JobEventSnapshot(
        id=str(event.id),
        created_at=_time(getattr(event, "created_at", None)) or datetime.fromtimestamp(0, UTC),
        level=str(getattr(event, "level", None) or "info"),
        type=str(getattr(event, "type", None) or "message"),
        message=str(getattr(event, "message", None) or ""),
        data=dict(data) if isinstance(data, Mapping) else {},
    )


def checkpoint_snapshot(checkpoint: Any) -> CheckpointSnapshot:
    metrics: Any = getattr(checkpoint, "metrics", None)
    values = metrics.model_dump() if hasattr(metrics, "model_dump") else metrics
    return CheckpointSnapshot(
        id=str(checkpoint.id),
        created_at=_time(getattr(checkpoint, "created_at", None)) or datetime.fromtimestamp(0, UTC),
        fine_tuned_model_checkpoint=str(getattr(checkpoint, "fine_tuned_model_checkpoint", "")),
        step_number=_int(getattr(checkpoint, "step_number", None)) or 0,
        metrics={
            str(key): float(value)
            for key, value in (values.items() if isinstance(values, Mapping) else ())
            if isinstance(value, int | float) and not isinstance(value, bool)
        },
    )


def model_snapshot(model: Any) -> ModelSnapshot:
    model_id = str(model.id)
    parts = model_id.split(":")
    return ModelSnapshot(
        id=model_id,
        created_at=_time(getattr(model, "created", None)) or datetime.fromtimestamp(0, UTC),
        owned_by=str(getattr(model, "owned_by", "") or ""),
        base_model=parts[1] if model_id.startswith("ft:") and len(parts) > 1 else None,
        suffix=_suffix_of(model_id),
    )


def _epochs(job: Any) -> int | None:
    """The resolved epoch count: the method's hyperparameters first, then the legacy field."""
    method = getattr(job, "method", None)
    kind = getattr(method, "type", None)
    section = getattr(method, str(kind), None) if kind else None
    for hyperparameters in (
        getattr(section, "hyperparameters", None),
        getattr(job, "hyperparameters", None),
    ):
        epochs = _int(getattr(hyperparameters, "n_epochs", None))
        if epochs is not None:
            return epochs
    return None


def _method_type(job: Any) -> str:
    return str(getattr(getattr(job, "method", None), "type", None) or "supervised")


def _suffix_of(model_id: str | None) -> str | None:
    if not model_id or not model_id.startswith("ft:"):
        return None
    parts = model_id.split(":")
    return (parts[3] or None) if len(parts) > 3 else None


def _time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, UTC)


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text or None


def _str_dict(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(key): str(item) for key, item in value.items()}
