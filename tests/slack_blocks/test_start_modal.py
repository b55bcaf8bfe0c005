"""The start modal, and reading its submission in the shape Slack sends `view.state.values`."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import Option
from slack_sdk.models.views import ViewState, ViewStateValue

from handlers.slack.blocks import StartFields, parse_start_submission, start_modal

MODELS = ["gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14", "gpt-4.1-2025-04-14"]
CHOICES = [("ds-4 · eval.jsonl (200 examples)", "ds-4"), ("ds-5 · holdout.jsonl", "ds-5")]


def modal(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "models": MODELS,
        "default_model": "gpt-4.1-mini-2025-04-14",
        "validation_choices": CHOICES,
        "private_metadata": '{"dataset": "ds-7", "channel": "C1"}',
    }
    return start_modal("ds-7", **(arguments | overrides))


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


def submit(view: dict[str, Any], **typed: str | None) -> dict[str, Any]:
    """`view.state.values` as Slack would send them for what a person typed or picked.

    A select may only be given a value the modal offers; a text input one it would accept.
    """
    state: dict[str, dict[str, ViewStateValue]] = {}
    for block_id, block in inputs(view).items():
        element = block["element"]
        given = typed.get(block_id)
        if element["type"] == "static_select":
            if given is None:
                chosen = element.get("initial_option")
            else:
                (chosen,) = [o for o in element["options"] if o["value"] == given]
            value = ViewStateValue(
                type="static_select",
                selected_option=Option(value=chosen["value"], label=chosen["text"]["text"])
                if chosen
                else None,
            )
        else:
            if given is not None and "max_length" in element:
                assert len(given) <= element["max_length"], "Slack would not let this be typed"
            value = ViewStateValue(type="plain_text_input", value=given)
        state[block_id] = {element["action_id"]: value}
    return ViewState(values=state).to_dict()["values"]


def test_modal_shape():
    view = modal()
    assert view["type"] == "modal"
    assert view["callback_id"] == "start_finetune_modal"
    assert view["title"]["text"] == "Start fine-tune"
    assert view["submit"]["text"] == "Start"
    assert view["private_metadata"] == '{"dataset": "ds-7", "channel": "C1"}'
    assert list(inputs(view)) == ["model", "epochs", "suffix", "validation", "seed"]
    assert {block["element"]["action_id"] for block in inputs(view).values()} == {"value"}
    assert "`ds-7`" in view["blocks"][0]["elements"][0]["text"]


def test_model_select_offers_models_with_the_default_chosen():
    model = inputs(modal())["model"]
    assert "optional" not in model or model["optional"] is False
    element = model["element"]
    assert element["type"] == "static_select"
    assert sorted(o["value"] for o in element["options"]) == sorted(MODELS)
    assert element["initial_option"]["value"] == "gpt-4.1-mini-2025-04-14"


def test_a_default_outside_the_list_is_offered_first():
    element = inputs(modal(default_model="ft:gpt-4o-mini:acme::abc"))["model"]["element"]
    assert element["options"][0]["value"] == "ft:gpt-4o-mini:acme::abc"
    assert element["initial_option"]["value"] == "ft:gpt-4o-mini:acme::abc"
    assert len(element["options"]) == len(MODELS) + 1


def test_long_model_lists_and_names_stay_within_select_limits():
    many = [
        f"ft:gpt-4o-mini-2024-07-18:an-organization-name:suffix-{n}:abcdefgh" for n in range(150)
    ]
    element = inputs(modal(models=[*many, "x" * 151]))["model"]["element"]
    assert len(element["options"]) == 100
    assert all(len(o["text"]["text"]) <= 75 for o in element["options"])
    assert all(
        o["value"] in many or o["value"] == element["initial_option"]["value"]
        for o in element["options"]
    )


def test_optional_text_inputs_and_their_hints():
    fields = inputs(modal())
    assert fields["epochs"]["optional"] is True
    assert fields["epochs"]["hint"]["text"].startswith("blank = as the API picks")
    assert fields["suffix"]["optional"] is True
    assert fields["suffix"]["element"]["max_length"] == 18
    assert fields["seed"]["optional"] is True
    for block_id in ("epochs", "suffix", "seed"):
        assert fields[block_id]["element"]["type"] == "plain_text_input"


def test_validation_choices_are_labelled_short_ids():
    validation = inputs(modal())["validation"]
    assert validation["optional"] is True
    options = validation["element"]["options"]
    assert [(o["text"]["text"], o["value"]) for o in options] == CHOICES


def test_no_validation_field_without_choices():
    assert "validation" not in inputs(modal(validation_choices=[]))


def test_everything_left_blank_means_the_api_picks():
    view = modal()
    assert parse_start_submission(submit(view)) == StartFields(
        model="gpt-4.1-mini-2025-04-14", epochs=None, suffix=None, validation=None, seed=None
    )


def test_every_field_filled_in():
    view = modal()
    values = submit(
        view,
        model="gpt-4.1-2025-04-14",
        epochs=" 3 ",
        suffix="support_v2-b",
        validation="ds-5",
        seed="42",
    )
    assert parse_start_submission(values) == StartFields(
        model="gpt-4.1-2025-04-14", epochs=3, suffix="support_v2-b", validation="ds-5", seed=42
    )


@pytest.mark.parametrize("epochs", ["1", "50", "07"])
def test_epochs_in_range(epochs):
    fields = parse_start_submission(submit(modal(), epochs=epochs))
    assert isinstance(fields, StartFields)
    assert fields.epochs == int(epochs)


@pytest.mark.parametrize("epochs", ["0", "51", "-1", "ab", "٣", "1_0", "+3"])
def test_bad_epochs(epochs):
    errors = parse_start_submission(submit(modal(), epochs=epochs))
    assert errors == {"epochs": "Epochs must be a whole number from 1 to 50."}


@pytest.mark.parametrize("seed", ["x", "-1", "1.5", "1e3", "2147483648", "9" * 30])
def test_bad_seed(seed):
    errors = parse_start_submission(submit(modal(), seed=seed))
    assert isinstance(errors, dict)
    assert list(errors) == ["seed"]


@pytest.mark.parametrize("seed", ["0", "2147483647"])
def test_seed_bounds(seed):
    fields = parse_start_submission(submit(modal(), seed=seed))
    assert isinstance(fields, StartFields)
    assert fields.seed == int(seed)


@pytest.mark.parametrize("suffix", ["has space", "ünïcode", "a/b", "dots.no", "<!channel>"])
def test_bad_suffix(suffix):
    errors = parse_start_submission(submit(modal(), suffix=suffix))
    assert isinstance(errors, dict)
    assert list(errors) == ["suffix"]


def test_a_suffix_too_long_is_refused_even_if_the_client_let_it_through():
    values = submit(modal())
    values["suffix"]["value"]["value"] = "a" * 19
    assert list(parse_start_submission(values)) == ["suffix"]


def test_all_bad_fields_are_reported_together():
    values = submit(modal(), epochs="99", suffix="no way", seed="x")
    assert isinstance(values, dict)
    assert set(parse_start_submission(values)) == {"epochs", "suffix", "seed"}


def test_a_missing_model_is_an_error():
    values = submit(modal())
    del values["model"]
    assert parse_start_submission(values) == {"model": "Choose a base model."}
