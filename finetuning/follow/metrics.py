"""Loss curves of a fine-tuning job, from its results file or from its metrics events.

OpenAI reports the same numbers two ways: a CSV results file attached to a finished job, and
"metrics" events while the job runs. Both are read into one shape, `LossPoint`, so the chart and
the final notice do not care where the numbers came from. Both readers are forgiving on purpose:
a follow loop must never crash on a half-written row or a column OpenAI adds next year.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class LossPoint:
    """One training step's numbers; `None` where that step did not report a value."""

    step: int
    train_loss: float | None
    valid_loss: float | None
    train_accuracy: float | None = None
    valid_accuracy: float | None = None
    full_valid_loss: float | None = None


# Source names (CSV columns or event data keys) for each LossPoint field. Several names map to one
# field because the results file and the events spell the accuracies differently.
_FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "train_loss": ("train_loss",),
    "valid_loss": ("valid_loss",),
    "train_accuracy": ("train_accuracy", "train_mean_token_accuracy"),
    "valid_accuracy": ("valid_mean_token_accuracy", "valid_accuracy"),
    "full_valid_loss": ("full_valid_loss",),
}
_VALUE_FIELDS = tuple(f.name for f in fields(LossPoint) if f.name != "step")


class _MalformedRowError(ValueError):
    """A CSV row that cannot be trusted as a whole; the caller skips it."""


def parse_results_csv(raw: bytes) -> list[LossPoint]:
    """Read OpenAI's fine-tuning results file (already base64-decoded) into points sorted by step.

    Columns are found by name, so their order does not matter and unknown ones are ignored. A row
    whose cell count differs from the header's, whose step is not an integer, or whose known cell
    is not a number is skipped: a misaligned row would put a number in the wrong series.
    """
    text = raw.decode("utf-8-sig", errors="replace")
    rows = _csv_rows(text)
    header = next(rows, None)
    if header is None:
        return []
    columns = [name.strip().lower() for name in header]
    if "step" not in columns:
        return []
    step_index = columns.index("step")
    field_index = _column_indices(columns)

    collected: list[LossPoint] = []
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue  # blank line, e.g. at the end of the file
        if len(row) != len(columns):
            continue
        try:
            point = _point_from_row(row, step_index, field_index)
        except _MalformedRowError:
            continue
        collected.append(point)
    return _collapse_by_step(collected)


def points_from_events(events: Iterable[Mapping[str, Any]]) -> list[LossPoint]:
    """Read the `data` of fine-tuning "metrics" events into points sorted by step.

    Accepts either the `data` mappings themselves or whole events (then only those of type
    "metrics" count). Events arrive newest first from the API and may be fetched twice, so the
    order is free and repeated steps collapse into one point. Non-numeric values are dropped
    one by one; an event without an integer step is dropped whole.
    """
    collected: list[LossPoint] = []
    for event in events:
        data = _event_data(event)
        if data is None:
            continue
        step = _as_step(data.get("step"))
        if step is None:
            continue
        values: dict[str, float | None] = {}
        for field_name, sources in _FIELD_SOURCES.items():
            values[field_name] = next(
                (v for v in (_as_number(data.get(s)) for s in sources) if v is not None), None
            )
        collected.append(LossPoint(step=step, **values))
    return _collapse_by_step(collected)


def final_losses(points: Iterable[LossPoint]) -> tuple[float | None, float | None]:
    """The last training loss and the last validation loss of a job.

    The full validation loss (measured on the whole validation file, usually once at the end) is
    preferred to the per-batch validation loss whenever the job reported one at all, since it is
    the number a person comparing two runs should look at.
    """
    ordered = sorted(points, key=lambda p: p.step)
    train = _last(p.train_loss for p in ordered)
    full_valid = _last(p.full_valid_loss for p in ordered)
    valid = full_valid if full_valid is not None else _last(p.valid_loss for p in ordered)
    return train, valid


def _csv_rows(text: str) -> Iterator[list[str]]:
    """The CSV rows of `text`, leaving out any the csv module refuses (say, an oversized field)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error:
            continue


def _column_indices(columns: Sequence[str]) -> dict[str, int]:
    """Map each LossPoint field to the first present column that feeds it."""
    found: dict[str, int] = {}
    for field_name, sources in _FIELD_SOURCES.items():
        for source in sources:
            if source in columns:
                found[field_name] = columns.index(source)
                break
    return found


def _point_from_row(
    row: Sequence[str], step_index: int, field_index: Mapping[str, int]
) -> LossPoint:
    step = _parse_step_cell(row[step_index])
    values = {name: _parse_value_cell(row[index]) for name, index in field_index.items()}
    return LossPoint(step=step, **{name: values.get(name) for name in _VALUE_FIELDS})


def _parse_step_cell(cell: str) -> int:
    try:
        number = float(cell.strip())
    except ValueError as exc:
        raise _MalformedRowError(cell) from exc
    if not math.isfinite(number) or not number.is_integer():
        raise _MalformedRowError(cell)
    return int(number)


def _parse_value_cell(cell: str) -> float | None:
    text = cell.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError as exc:
        raise _MalformedRowError(cell) from exc
    # NaN/inf are what a diverged step writes; they are "no value", not a reason to lose the row.
    return number if math.isfinite(number) else None


def _event_data(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    data = event.get("data")
    if isinstance(data, Mapping):
        kind = event.get("type")
        return data if kind is None or kind == "metrics" else None
    return event


def _as_number(value: object) -> float | None:
    # bool is an int subclass; a True loss is a bug upstream, not a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _as_step(value: object) -> int | None:
    number = _as_number(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def _collapse_by_step(points: Iterable[LossPoint]) -> list[LossPoint]:
    """One point per step, sorted; for a repeated step, each later non-missing value wins."""
    by_step: dict[int, LossPoint] = {}
    for point in points:
        earlier = by_step.get(point.step)
        if earlier is None:
            by_step[point.step] = point
            continue
        updates = {
            name: getattr(point, name) for name in _VALUE_FIELDS if getattr(point, name) is not None
        }
        by_step[point.step] = replace(earlier, **updates)
    return [by_step[step] for step in sorted(by_step)]


def _last(values: Iterable[float | None]) -> float | None:
    result: float | None = None
    for value in values:
        if value is not None:
            result = value
    return result
