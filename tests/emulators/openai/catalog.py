"""Which base models exist, which can be fine-tuned, and which endpoint each one serves.

Kept as data so a test can see at a glance what the emulated account has access to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BaseModel:
    id: str
    created: int
    owned_by: str
    chat: bool  # served by /v1/chat/completions (else by the legacy /v1/completions)
    context_window: int


BASE_MODELS: tuple[BaseModel, ...] = (
    BaseModel("gpt-4o-mini-2024-07-18", 1721172717, "system", True, 128_000),
    BaseModel("gpt-4o-2024-08-06", 1722814719, "system", True, 128_000),
    BaseModel("gpt-4.1-2025-04-14", 1744316542, "system", True, 1_047_576),
    BaseModel("gpt-4.1-mini-2025-04-14", 1744317547, "system", True, 1_047_576),
    BaseModel("gpt-4.1-nano-2025-04-14", 1744321025, "system", True, 1_047_576),
    BaseModel("gpt-3.5-turbo-0125", 1706048358, "system", True, 16_385),
    BaseModel("babbage-002", 1692634615, "system", False, 16_384),
    BaseModel("davinci-002", 1692634301, "system", False, 16_384),
)

# Short names the chat endpoint accepts and answers with the dated snapshot, as the API does.
ALIASES: dict[str, str] = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
}

BY_ID: dict[str, BaseModel] = {m.id: m for m in BASE_MODELS}


def resolve_base(name: str) -> BaseModel | None:
    """The base model a name (dated id or short alias) stands for, or None."""
    return BY_ID.get(ALIASES.get(name, name))


def base_of_fine_tuned(model_id: str) -> str:
    """The base model id inside a fine-tuned name (``ft:{base}:{org}:{suffix}:{id}[:ckpt]``)."""
    return model_id.split(":")[1] if model_id.startswith("ft:") else model_id
