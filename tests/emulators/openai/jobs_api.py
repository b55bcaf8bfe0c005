"""/v1/fine_tuning/jobs: create with the API's validation, list, follow, and steer jobs."""

from __future__ import annotations

from typing import Any

from . import lifecycle
from .catalog import BY_ID, resolve_base
from .errors import bad_request, invalid_type, job_not_found
from .httpio import JsonResponse, Request, Route, cursor_page, require
from .script import JobScript
from .state import EmulatorState, JobRecord

JOB = r"/v1/fine_tuning/jobs/(?P<job_id>[^/]+)"
HYPERPARAMETER_RANGES: dict[str, tuple[float, float]] = {
    "n_epochs": (1, 50),
    "batch_size": (1, 256),
    "learning_rate_multiplier": (0.0, 100.0),
    "beta": (0.0, 2.0),
}


def create_job(state: EmulatorState, request: Request) -> JsonResponse:
    body = request.json()
    with state.lock:
        model = fine_tunable_model(state, require(body, "model"))
        training_file = usable_file(state, require(body, "training_file"), "training_file")
        validation_file = body.get("validation_file")
        if validation_file is not None:
            validation_file = usable_file(state, validation_file, "validation_file")
        suffix = _suffix(body.get("suffix"))
        method_type, requested = _method(body)
        metadata = checked_metadata(body.get("metadata"))
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise invalid_type("seed", "an integer")
        job = new_job(
            state,
            model=model,
            training_file=training_file,
            validation_file=validation_file,
            suffix=suffix,
            seed=seed,
            metadata=metadata,
            method_type=method_type,
            requested=requested,
            script=state.script_for(body),
        )
        return JsonResponse(job.to_api())


def new_job(
    state: EmulatorState,
    *,
    model: str,
    training_file: str,
    script: JobScript,
    validation_file: str | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    metadata: dict[str, str] | None = None,
    method_type: str = "supervised",
    requested: dict[str, Any] | None = None,
) -> JobRecord:
    """Register an already-validated job and start it (expects `state.lock` held)."""
    requested = requested or {}
    job_id = state.new_id("ftjob-")
    short = state.new_id("", 8)
    job = JobRecord(
        id=job_id,
        created_at=state.now(),
        model=model,
        training_file=training_file,
        validation_file=validation_file,
        suffix=suffix,
        seed=seed if seed is not None else state.new_seed(),
        metadata=metadata,
        method_type=method_type,
        requested=requested,
        script=script,
        planned_model=f"ft:{model}:{state.config.organization}:{suffix or ''}:{short}",
        organization_id=state.config.organization_id,
        hyperparameters={key: requested.get(key, "auto") for key in _keys(method_type)},
    )
    state.add_job(job)
    lifecycle.start(state, job)
    return job


def list_jobs(state: EmulatorState, request: Request) -> JsonResponse:
    """Newest first, walking back from the cursor, so a page costs O(limit) however many jobs."""
    limit = request.query_int("limit", 20, 1, 100)
    wanted = {
        key[len("metadata[") : -1]: values[-1]
        for key, values in request.query.items()
        if key.startswith("metadata[") and key.endswith("]")
    }
    null_only = request.query_one("metadata") == "null"
    after = request.query_one("after")
    with state.lock:
        ids, positions = state.job_order()
        position = len(ids) if after is None else positions.get(after, 0)
        page: list[JobRecord] = []
        while position > 0 and len(page) <= limit:
            position -= 1
            job = state.jobs[ids[position]]
            if _matches(job, wanted, null_only):
                page.append(job)
        data = [job.to_api() for job in page[:limit]]
    return JsonResponse({"object": "list", "data": data, "has_more": len(page) > limit})


def get_job(state: EmulatorState, request: Request) -> JsonResponse:
    with state.lock:
        return JsonResponse(find_job(state, request.params["job_id"]).to_api())


def cancel_job(state: EmulatorState, request: Request) -> JsonResponse:
    with state.lock:
        job = find_job(state, request.params["job_id"])
        if job.finished:
            raise bad_request(f"Job has already completed: {job.id}")
        lifecycle.cancel(state, job)
        return JsonResponse(job.to_api())


def pause_job(state: EmulatorState, request: Request) -> JsonResponse:
    with state.lock:
        job = find_job(state, request.params["job_id"])
        if job.status != "running":
            raise bad_request(f"Job {job.id} cannot be paused: it is {job.status}, not running.")
        lifecycle.pause(state, job)
        return JsonResponse(job.to_api())


def resume_job(state: EmulatorState, request: Request) -> JsonResponse:
    with state.lock:
        job = find_job(state, request.params["job_id"])
        if job.status != "paused":
            raise bad_request(f"Job {job.id} cannot be resumed: it is {job.status}, not paused.")
        lifecycle.resume(state, job)
        return JsonResponse(job.to_api())


def list_events(state: EmulatorState, request: Request) -> JsonResponse:
    limit = request.query_int("limit", 20, 1, 100)
    with state.lock:
        events = list(reversed(find_job(state, request.params["job_id"]).events))
    return JsonResponse(cursor_page(events, request.query_one("after"), limit))


def list_checkpoints(state: EmulatorState, request: Request) -> JsonResponse:
    limit = request.query_int("limit", 10, 1, 100)
    with state.lock:
        checkpoints = list(reversed(find_job(state, request.params["job_id"]).checkpoints))
    page = cursor_page(checkpoints, request.query_one("after"), limit)
    page["first_id"] = page["data"][0]["id"] if page["data"] else None
    page["last_id"] = page["data"][-1]["id"] if page["data"] else None
    return JsonResponse(page)


def find_job(state: EmulatorState, job_id: str) -> JobRecord:
    job = state.jobs.get(job_id)
    if job is None:
        raise job_not_found(job_id)
    return job


def fine_tunable_model(state: EmulatorState, name: str) -> str:
    base = resolve_base(name)
    if base is not None:
        return base.id
    if name in state.models and name.split(":")[1] in BY_ID:
        return name  # continued fine-tuning of an earlier result
    raise bad_request(
        f"Model {name} is not available for fine-tuning or does not exist.",
        param="model",
        code="model_not_available",
    )


def usable_file(state: EmulatorState, file_id: Any, param: str) -> str:
    if not isinstance(file_id, str):
        raise invalid_type(param, "a string")
    record = state.files.get(file_id)
    if record is None:
        raise bad_request(f"invalid {param}: {file_id}", param=param)
    if record.purpose != "fine-tune":
        raise bad_request(
            f"File {file_id} has purpose '{record.purpose}'; files for fine-tuning must be "
            "uploaded with purpose 'fine-tune'.",
            param=param,
            code="invalid_file_purpose",
        )
    return file_id


def _suffix(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type("suffix", "a string")
    if len(value) > 64:
        raise bad_request(
            f"Invalid 'suffix': string too long. Expected a string with maximum length 64, "
            f"but got a string with length {len(value)} instead.",
            param="suffix",
            code="string_above_max_length",
        )
    return value or None


def _method(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The method type and requested hyperparameters, from `method` or the legacy field."""
    method = body.get("method")
    legacy = body.get("hyperparameters") or {}
    if not isinstance(legacy, dict):
        raise invalid_type("hyperparameters", "an object")
    if method is None:
        return "supervised", _checked(legacy, "hyperparameters", "supervised")
    if not isinstance(method, dict):
        raise invalid_type("method", "an object")
    kind = method.get("type")
    if kind not in ("supervised", "dpo"):
        raise bad_request(
            f"Invalid value for 'method.type': {kind!r}. Supported values are: "
            "'supervised' and 'dpo'.",
            param="method.type",
            code="invalid_value",
        )
    section = method.get(kind) or {}
    nested = section.get("hyperparameters") or {} if isinstance(section, dict) else {}
    if legacy and nested:
        raise bad_request(
            "Specify hyperparameters either in 'hyperparameters' or in 'method', not both.",
            param="hyperparameters",
        )
    return kind, _checked(nested or legacy, f"method.{kind}.hyperparameters", kind)


def _checked(values: dict[str, Any], where: str, method_type: str) -> dict[str, Any]:
    allowed = _keys(method_type)
    for key, value in values.items():
        param = f"{where}.{key}"
        if key not in allowed:
            raise bad_request(f"Unrecognized hyperparameter: '{key}'.", param=param)
        if value == "auto":
            continue
        low, high = HYPERPARAMETER_RANGES[key]
        integral = key in ("n_epochs", "batch_size")
        if isinstance(value, bool) or not isinstance(value, int if integral else (int, float)):
            raise invalid_type(param, "an integer or 'auto'" if integral else "a number or 'auto'")
        if not low <= value <= high or (not integral and value <= 0):
            raise bad_request(
                f"Invalid '{param}': {value} is out of range.", param=param, code="invalid_value"
            )
    return dict(values)


def _keys(method_type: str) -> tuple[str, ...]:
    base = ("batch_size", "learning_rate_multiplier", "n_epochs")
    return (*base, "beta") if method_type == "dpo" else base


def checked_metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 16:
        raise bad_request("Invalid 'metadata': expected an object of at most 16 pairs.", "metadata")
    for key, item in value.items():
        if not isinstance(item, str) or len(key) > 64 or len(item) > 512:
            raise bad_request(
                "Invalid 'metadata': keys up to 64 and string values up to 512 characters.",
                param="metadata",
            )
    return dict(value)


def _matches(job: JobRecord, wanted: dict[str, str], null_only: bool) -> bool:
    if null_only:
        return job.metadata is None
    metadata = job.metadata or {}
    return all(metadata.get(key) == value for key, value in wanted.items())


ROUTES = [
    Route("POST", r"/v1/fine_tuning/jobs", create_job),
    Route("GET", r"/v1/fine_tuning/jobs", list_jobs),
    Route("GET", JOB, get_job),
    Route("POST", JOB + "/cancel", cancel_job),
    Route("POST", JOB + "/pause", pause_job),
    Route("POST", JOB + "/resume", resume_job),
    Route("GET", JOB + "/events", list_events),
    Route("GET", JOB + "/checkpoints", list_checkpoints),
]
