"""The **Start fine-tune** modal and the reading of what was typed into it.

Values are checked here, before the provider sees them, so a typo comes back as an error under
the field it belongs to instead of a failed job in the channel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from handlers.slack.blocks.layout import context
from handlers.slack.blocks.limits import MAX_OPTION_TEXT, MAX_OPTION_VALUE, MAX_OPTIONS
from handlers.slack.blocks.text import code, truncate

CALLBACK_ID = "start_finetune_modal"
VALUE_ACTION = "value"
"""Every input's action_id: the block_id alone names the field."""

MODEL_BLOCK = "model"
EPOCHS_BLOCK = "epochs"
SUFFIX_BLOCK = "suffix"
VALIDATION_BLOCK = "validation"
SEED_BLOCK = "seed"

MIN_EPOCHS = 1
MAX_EPOCHS = 50
"""The range the fine-tuning API accepts for `n_epochs`."""
SUFFIX_MAX_LENGTH = 18
MAX_SEED = 2**31 - 1

_SUFFIX = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]+")
"""ASCII digits only: `int()` would also take `٣` or `1_000`."""


@dataclass(frozen=True)
class StartFields:
    """What the person asked for; None means "let the API pick" (or no validation file)."""

    model: str
    epochs: int | None
    suffix: str | None
    validation: str | None
    """A dataset short id such as `ds-8`."""
    seed: int | None


def start_modal(
    dataset_short_id: str,
    *,
    models: list[str],
    default_model: str,
    validation_choices: list[tuple[str, str]],
    private_metadata: str,
) -> dict[str, Any]:
    """The modal for starting a job on one dataset.

    `validation_choices` are `(label, short id)` pairs; with none, the field is left out rather
    than shown empty. `private_metadata` (at most 3,000 characters) comes back on submission.
    """
    blocks: list[Block] = [
        context(f"Training on {code(dataset_short_id)}."),
        InputBlock(
            block_id=MODEL_BLOCK,
            label="Base model",
            element=_model_select(models, default_model),
        ),
        InputBlock(
            block_id=EPOCHS_BLOCK,
            label="Epochs",
            optional=True,
            hint=f"blank = as the API picks ({MIN_EPOCHS}-{MAX_EPOCHS})",
            element=PlainTextInputElement(action_id=VALUE_ACTION, placeholder="e.g. 3"),
        ),
        InputBlock(
            block_id=SUFFIX_BLOCK,
            label="Model name suffix",
            optional=True,
            hint=f"letters, digits, - and _; at most {SUFFIX_MAX_LENGTH} characters",
            element=PlainTextInputElement(
                action_id=VALUE_ACTION, placeholder="e.g. support-v2", max_length=SUFFIX_MAX_LENGTH
            ),
        ),
    ]
    if validation_choices:
        blocks.append(
            InputBlock(
                block_id=VALIDATION_BLOCK,
                label="Validation dataset",
                optional=True,
                element=StaticSelectElement(
                    action_id=VALUE_ACTION,
                    placeholder="none",
                    options=[_option(label, value) for label, value in validation_choices][
                        :MAX_OPTIONS
                    ],
                ),
            )
        )
    blocks.append(
        InputBlock(
            block_id=SEED_BLOCK,
            label="Seed",
            optional=True,
            hint="blank = a random seed; the same seed repeats a run",
            element=PlainTextInputElement(action_id=VALUE_ACTION, placeholder="e.g. 42"),
        )
    )
    view = View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=PlainTextObject(text="Start fine-tune"),
        submit=PlainTextObject(text="Start"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=private_metadata,
        blocks=blocks,
    )
    return view.to_dict()


def _option(label: str, value: str) -> Option:
    return Option(text=PlainTextObject(text=truncate(label, MAX_OPTION_TEXT)), value=value)


def _model_select(models: list[str], default_model: str) -> StaticSelectElement:
    """The default first, then the other models; ids too long for an option are left out, since a
    shortened id would start a job on a model that does not exist."""
    offered = dict.fromkeys([default_model, *models])
    names = [name for name in offered if 0 < len(name) <= MAX_OPTION_VALUE]
    names = names[:MAX_OPTIONS]
    options = [_option(name, name) for name in names]
    initial = next((o for o in options if o.value == default_model), None)
    return StaticSelectElement(
        action_id=VALUE_ACTION,
        placeholder="Choose a model",
        options=options,
        initial_option=initial,
    )


def parse_start_submission(values: Mapping[str, Mapping[str, Any]]) -> StartFields | dict[str, str]:
    """The fields of a submitted modal (`view.state.values`), or `{block_id: message}` errors.

    The errors dict is what Slack's `response_action: errors` expects, so the modal stays open
    with each message under its field.
    """
    errors: dict[str, str] = {}
    model = _selected(values, MODEL_BLOCK)
    if not model:
        errors[MODEL_BLOCK] = "Choose a base model."
    epochs = _typed(values, EPOCHS_BLOCK)
    if epochs and not (_DIGITS.fullmatch(epochs) and MIN_EPOCHS <= int(epochs) <= MAX_EPOCHS):
        errors[EPOCHS_BLOCK] = f"Epochs must be a whole number from {MIN_EPOCHS} to {MAX_EPOCHS}."
    suffix = _typed(values, SUFFIX_BLOCK)
    if suffix and not (_SUFFIX.fullmatch(suffix) and len(suffix) <= SUFFIX_MAX_LENGTH):
        errors[SUFFIX_BLOCK] = (
            f"Use at most {SUFFIX_MAX_LENGTH} letters, digits, - or _ (no spaces)."
        )
    seed = _typed(values, SEED_BLOCK)
    if seed and not (_DIGITS.fullmatch(seed) and int(seed) <= MAX_SEED):
        errors[SEED_BLOCK] = f"The seed must be a whole number from 0 to {MAX_SEED:,}."
    if errors or not model:
        return errors
    return StartFields(
        model=model,
        epochs=int(epochs) if epochs else None,
        suffix=suffix or None,
        validation=_selected(values, VALIDATION_BLOCK) or None,
        seed=int(seed) if seed else None,
    )


def _state(values: Mapping[str, Mapping[str, Any]], block_id: str) -> Mapping[str, Any]:
    state = values.get(block_id, {}).get(VALUE_ACTION)
    return state if isinstance(state, Mapping) else {}


def _typed(values: Mapping[str, Mapping[str, Any]], block_id: str) -> str:
    """A text input's value, stripped; "" when left blank (Slack sends None)."""
    value = _state(values, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def _selected(values: Mapping[str, Mapping[str, Any]], block_id: str) -> str:
    option = _state(values, block_id).get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else ""
