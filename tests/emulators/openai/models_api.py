"""/v1/models: the base catalogue plus every fine-tuned model the account still owns."""

from __future__ import annotations

from typing import Any

from .catalog import ALIASES, BASE_MODELS, BY_ID, BaseModel
from .errors import ApiError
from .httpio import JsonResponse, Request, Route
from .state import EmulatorState

MODEL = r"/v1/models/(?P<model>[^/]+)"


def list_models(state: EmulatorState, request: Request) -> JsonResponse:
    with state.lock:
        tuned = [record.to_api() for record in state.models.values()]
    data = [_base(model.id, model) for model in BASE_MODELS]
    data += [_base(alias, BY_ID[target]) for alias, target in ALIASES.items()]
    return JsonResponse({"object": "list", "data": data + tuned})


def get_model(state: EmulatorState, request: Request) -> JsonResponse:
    name = request.params["model"]
    target = BY_ID.get(ALIASES.get(name, name))
    if target is not None:
        return JsonResponse(_base(name, target))
    with state.lock:
        record = state.models.get(name)
        if record is None:
            raise _no_such_model(name)
        return JsonResponse(record.to_api())


def delete_model(state: EmulatorState, request: Request) -> JsonResponse:
    name = request.params["model"]
    with state.lock:
        if name in state.models:
            del state.models[name]
            return JsonResponse({"id": name, "object": "model", "deleted": True})
    if name in BY_ID or name in ALIASES:
        raise ApiError(
            403,
            f"You have insufficient permissions for this operation: {name} is not a model your "
            "organization owns.",
            param="model",
        )
    raise _no_such_model(name)


def _no_such_model(name: str) -> ApiError:
    return ApiError(
        404, f"The model '{name}' does not exist", param="model", code="model_not_found"
    )


def _base(name: str, model: BaseModel) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": model.created, "owned_by": model.owned_by}


ROUTES = [
    Route("GET", r"/v1/models", list_models),
    Route("GET", MODEL, get_model),
    Route("DELETE", MODEL, delete_model),
]
