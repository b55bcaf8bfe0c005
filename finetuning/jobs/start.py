"""What a start request asks for, and the checks it must pass before anything is created."""

from __future__ import annotations

import re
from dataclasses import dataclass

from finetuning.datasets.engine import ValidationSettings, validate_file
from finetuning.datasets.estimate import Estimate, estimate
from finetuning.datasets.formats import DatasetFormat
from finetuning.datasets.library import DatasetLibrary, DatasetNotFoundError, StoredDataset
from finetuning.datasets.models import ModelCatalog, ModelSpec, UnknownModelError

SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,18}$")
"""The API's rule for model suffixes (up to 18 characters)."""
MAX_EPOCHS = 50


class StartRefusedError(Exception):
    """The request cannot start a job; nothing was created. Says why and what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class StartRequest:
    """A request to start a job, from any front end.

    `key` makes it idempotent: the same key (a retried delivery, a double click, a resubmitted
    form) never starts a second job.
    """

    key: str
    workspace_id: str
    channel_id: str | None
    requested_by: str | None
    dataset_ref: str | None = None
    model: str | None = None
    epochs: int | None = None
    suffix: str | None = None
    validation_ref: str | None = None
    seed: int | None = None


@dataclass(frozen=True)
class StartPlan:
    """A request resolved to concrete datasets, model and estimate."""

    request: StartRequest
    dataset: StoredDataset
    validation: StoredDataset | None
    model: ModelSpec
    estimate: Estimate
    method: str


def plan_start(
    request: StartRequest, library: DatasetLibrary, catalog: ModelCatalog, default_model: str
) -> StartPlan:
    """Resolve and check a request; raise StartRefusedError with a hint if it cannot start."""
    if request.epochs is not None and not 1 <= request.epochs <= MAX_EPOCHS:
        raise StartRefusedError(
            f"epochs must be between 1 and {MAX_EPOCHS}", "Leave it out to let the API choose."
        )
    if request.suffix is not None and not SUFFIX.match(request.suffix):
        raise StartRefusedError(
            f"suffix {request.suffix!r} is not allowed",
            "Use up to 18 letters, digits, '-' or '_'.",
        )
    dataset = (
        _named(library, request.workspace_id, request.dataset_ref)
        if request.dataset_ref is not None
        else library.newest_valid(request.workspace_id, request.channel_id)
    )
    if dataset is None:
        raise StartRefusedError(
            "there is no valid dataset in this channel yet",
            "Drop a training file here first, or name one: `start ds-7`.",
        )
    if not dataset.valid:
        raise StartRefusedError(
            f"{dataset.short_id} has errors and would be rejected",
            "Fix the errors listed in its report and upload it again.",
        )
    validation = (
        _named(library, request.workspace_id, request.validation_ref)
        if request.validation_ref is not None
        else None
    )
    if validation is not None and not validation.valid:
        raise StartRefusedError(
            f"validation dataset {validation.short_id} has errors",
            "Fix it, or start without `validation=`.",
        )
    shape = dataset.report.format
    fallback = "babbage-002" if shape is DatasetFormat.PROMPT_COMPLETION else default_model
    try:
        model = catalog.resolve(request.model or fallback)
    except UnknownModelError as exc:
        raise StartRefusedError(
            str(exc), "Run `/finetune models` to see the models you can tune."
        ) from exc
    if shape is not None and shape.value not in model.formats:
        raise StartRefusedError(
            f"{model.id} cannot train on {shape.value} data",
            f"Choose a model that trains on {shape.value} data (`/finetune models`).",
        )
    return StartPlan(
        request=request,
        dataset=dataset,
        validation=validation,
        model=model,
        estimate=_estimate_for(dataset, model, request.epochs, catalog),
        method="dpo" if shape is DatasetFormat.PREFERENCE else "supervised",
    )


def _named(library: DatasetLibrary, workspace_id: str, ref: str) -> StoredDataset:
    try:
        return library.get(workspace_id, ref)
    except DatasetNotFoundError as exc:
        raise StartRefusedError(
            f"there is no dataset {ref!r} in this workspace",
            "Use the id shown in a dataset's report, like `ds-7`.",
        ) from exc


def _estimate_for(
    dataset: StoredDataset, model: ModelSpec, epochs: int | None, catalog: ModelCatalog
) -> Estimate:
    """Reuse the report's counts when it was made for this model, else count again.

    Another model may use another tokenizer or limit, and the figure quoted when a job starts
    is the one people budget with.
    """
    report = dataset.report
    if report.estimate.model == model.id and report.tokens.encoding == model.encoding:
        return estimate(model, report.examples, report.tokens.billed_per_epoch, epochs)
    if dataset.normalized_path is None or not dataset.normalized_path.exists():
        return estimate(model, report.examples, report.tokens.billed_per_epoch, epochs)
    recounted = validate_file(
        dataset.normalized_path, ValidationSettings(model=model.id, epochs=epochs, catalog=catalog)
    )
    return recounted.estimate
