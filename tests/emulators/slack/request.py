"""One Web API call as a method sees it, with Slack's lenient argument decoding.

Form-encoded callers send lists and objects as JSON strings and booleans as "true"/"1"; JSON
callers send them natively. Methods read arguments through here so both arrive the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.emulators.slack.errors import ApiError, invalid_arguments
from tests.emulators.slack.records import JsonDict
from tests.emulators.slack.workspace import Workspace


@dataclass
class ApiRequest:
    method: str
    params: JsonDict
    token: str
    workspace: Workspace

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None or value == "":
            return None
        return str(value)

    def required(self, name: str, error: str | None = None) -> str:
        value = self.text(name)
        if value is None:
            raise ApiError(error) if error else invalid_arguments(f"missing required field: {name}")
        return value

    def flag(self, name: str) -> bool:
        value = self.params.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in {"1", "true", "yes"}

    def json_value(self, name: str, error: str = "invalid_arguments") -> Any:
        """A list or object argument, decoded from its JSON string when form-encoded."""
        value = self.params.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ApiError(error) from exc
        return value


Method = Callable[[ApiRequest], JsonDict]
