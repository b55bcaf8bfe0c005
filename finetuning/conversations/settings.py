"""How a bound model answers: an optional system prompt, temperature and reply length.

Checked when made, so a bad `/finetune use … temperature=5` is refused with a sentence a person
can act on instead of surfacing later as a 400 from OpenAI in the middle of a conversation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_SYSTEM_PROMPT_CHARS = 4000
"""A system prompt is instructions, not a document; the cap keeps prompts (and costs) sane."""
MIN_TEMPERATURE = 0.0
MAX_TEMPERATURE = 2.0


class InvalidSettingsError(ValueError):
    """A reply setting out of range; the message names the setting and the allowed values."""


@dataclass(frozen=True)
class ReplySettings:
    """None means "the API's default" (and no system prompt)."""

    system_prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.system_prompt is not None:
            prompt = self.system_prompt.strip()
            if len(prompt) > MAX_SYSTEM_PROMPT_CHARS:
                raise InvalidSettingsError(
                    f"the system prompt has {len(prompt)} characters; at most "
                    f"{MAX_SYSTEM_PROMPT_CHARS} are allowed"
                )
            # A blank prompt is no prompt: sending an empty system message only costs tokens.
            object.__setattr__(self, "system_prompt", prompt or None)
        if self.temperature is not None:
            value = self.temperature
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not MIN_TEMPERATURE <= value <= MAX_TEMPERATURE
            ):
                raise InvalidSettingsError(
                    f"temperature must be a number from {MIN_TEMPERATURE:g} to "
                    f"{MAX_TEMPERATURE:g}, not {value!r}"
                )
            object.__setattr__(self, "temperature", float(value))
        if self.max_tokens is not None and (
            isinstance(self.max_tokens, bool)
            or not isinstance(self.max_tokens, int)
            or self.max_tokens < 1
        ):
            raise InvalidSettingsError(
                f"max_tokens must be a whole number of at least 1, not {self.max_tokens!r}"
            )
