"""The base models that can be fine-tuned: tokenizer, limits, training price, and how they answer.

Prices change; they live in `data/models.json` with the date they were read, so an update is a
data change, and a team can override any price from settings without waiting for a release.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Literal, cast, get_args

Endpoint = Literal["chat", "completions"]
"""Which API answers a model (and its fine-tunes): chat completions, or the legacy completions."""


class UnknownModelError(ValueError):
    """A model name we have no data for: estimating with a guess would mislead about money."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown base model {name!r}; known models: {', '.join(known)}")


@dataclass(frozen=True)
class ModelSpec:
    """One fine-tunable base model."""

    id: str
    aliases: tuple[str, ...]
    encoding: str
    max_tokens_per_example: int
    training_usd_per_million: float
    methods: tuple[str, ...]
    formats: tuple[str, ...]
    # Prompt plus reply tokens a request may use, when talking to the model (or a fine-tune).
    context_window: int
    endpoint: Endpoint


@dataclass(frozen=True)
class ModelCatalog:
    """All known models plus where their prices came from."""

    models: tuple[ModelSpec, ...]
    read_on: str
    source: str

    def names(self) -> list[str]:
        """Every accepted name, ids first, for error messages and autocomplete."""
        return [m.id for m in self.models] + [a for m in self.models for a in m.aliases]

    def resolve(self, name: str) -> ModelSpec:
        """Find a model by id, alias, or a fine-tuned id (`ft:BASE:org::id`) built on it.

        Continuing to train a fine-tuned model bills and tokenizes as its base, so we map it back.
        """
        wanted = name.strip()
        if wanted.startswith("ft:"):
            wanted = wanted.split(":")[1] if wanted.count(":") >= 1 else wanted
        for model in self.models:
            if wanted == model.id or wanted in model.aliases:
                return model
        raise UnknownModelError(name, [m.id for m in self.models])

    def with_prices(self, overrides: Mapping[str, float]) -> ModelCatalog:
        """A catalog whose prices are replaced where `overrides` names a model (id or alias)."""
        if not overrides:
            return self
        by_id = {self.resolve(name).id: float(price) for name, price in overrides.items()}
        models = tuple(
            replace(m, training_usd_per_million=by_id[m.id]) if m.id in by_id else m
            for m in self.models
        )
        return replace(self, models=models, source=self.source + " (with local overrides)")


@lru_cache(maxsize=1)
def default_catalog() -> ModelCatalog:
    """The catalog shipped with the package."""
    text = resources.files(__package__).joinpath("data").joinpath("models.json").read_text("utf-8")
    raw = json.loads(text)
    models = tuple(
        ModelSpec(
            id=m["id"],
            aliases=tuple(m["aliases"]),
            encoding=m["encoding"],
            max_tokens_per_example=int(m["max_tokens_per_example"]),
            training_usd_per_million=float(m["training_usd_per_million"]),
            methods=tuple(m["methods"]),
            formats=tuple(m["formats"]),
            context_window=int(m["context_window"]),
            endpoint=_endpoint(m["endpoint"]),
        )
        for m in raw["models"]
    )
    return ModelCatalog(models=models, read_on=raw["read_on"], source=raw["source"])


def _endpoint(value: str) -> Endpoint:
    if value not in get_args(Endpoint):
        raise ValueError(f"unknown endpoint {value!r} in models.json; one of {get_args(Endpoint)}")
    return cast(Endpoint, value)
