"""Epochs, billed tokens and cost, and how model names resolve to prices and limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from finetuning.datasets.estimate import default_epochs, estimate
from finetuning.datasets.models import ModelCatalog, UnknownModelError, default_catalog
from tests.datasets.builders import (
    SYSTEM,
    assistant,
    chats,
    example,
    jsonl_file,
    user,
    validate,
)


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [
        # Too few for 3 epochs to reach 100 example-passes: 100 // n, at most 25.
        (1, 25),
        (3, 25),
        (4, 25),
        (5, 20),
        (7, 14),
        (10, 10),
        (20, 5),
        (33, 3),
        # 3 epochs reach 100 passes from 34 examples on.
        (34, 3),
        (40, 3),
        (1000, 3),
        (8333, 3),
        # Over 25,000 passes at 3 epochs: 25,000 // n, at least 1.
        (8334, 2),
        (12_500, 2),
        (12_501, 1),
        (25_001, 1),
        (1_000_000, 1),
    ],
)
def test_default_epochs_follow_the_apis_rule(examples: int, epochs: int) -> None:
    assert default_epochs(examples) == epochs


def test_default_epochs_of_nothing_is_three() -> None:
    assert default_epochs(0) == 3


def test_estimate_multiplies_and_prices() -> None:
    model = default_catalog().resolve("gpt-4o-mini")
    result = estimate(model, examples=100, billed_per_epoch=123_457)
    assert (result.epochs, result.epochs_source) == (3, "default")
    assert result.billed_tokens == 370_371
    assert result.cost_usd == round(370_371 * 3.0 / 1e6, 4)
    given = estimate(model, examples=100, billed_per_epoch=123_457, epochs=7)
    assert (given.epochs, given.epochs_source, given.billed_tokens) == (7, "given", 864_199)


def _long(words: int) -> object:
    return example(SYSTEM, user(5, content="hello " * words), assistant(5))


def test_billed_tokens_cap_each_example_at_the_model_limit(tmp_path: Path) -> None:
    """gpt-3.5-turbo trains on at most 16,385 tokens of an example; the rest is not billed."""
    report = validate(jsonl_file(chats(12, line5=_long(17_000)))(tmp_path), model="gpt-3.5-turbo")
    longest = report.tokens.max_example
    assert longest > 16_385
    assert report.tokens.max_example_line == 5
    others = report.tokens.total - longest
    assert report.tokens.billed_per_epoch == others + 16_385
    result = report.estimate
    assert result.model == "gpt-3.5-turbo-0125"
    assert result.epochs == default_epochs(12) == 8
    assert result.billed_tokens == report.tokens.billed_per_epoch * 8
    assert result.cost_usd == round(result.billed_tokens * 8.0 / 1_000_000, 4)
    assert result.max_tokens_per_example == 16_385


def test_explicit_epochs_are_used(tmp_path: Path) -> None:
    report = validate(jsonl_file(chats(12))(tmp_path), epochs=2)
    assert report.estimate.epochs == 2
    assert report.estimate.epochs_source == "given"
    assert report.estimate.billed_tokens == 2 * report.tokens.total


def test_price_overrides_change_the_cost(tmp_path: Path) -> None:
    catalog = default_catalog().with_prices({"gpt-4o-mini": 1.5, "babbage-002": 0.25})
    assert catalog.resolve("gpt-4o-mini-2024-07-18").training_usd_per_million == 1.5
    assert catalog.resolve("babbage-002").training_usd_per_million == 0.25
    assert catalog.resolve("gpt-4o").training_usd_per_million == 25.0  # untouched
    assert "overrides" in catalog.source
    report = validate(jsonl_file(chats(12))(tmp_path), catalog=catalog, epochs=1)
    assert report.estimate.usd_per_million == 1.5
    assert report.estimate.cost_usd == round(report.tokens.total * 1.5 / 1e6, 4)


def test_no_overrides_is_the_same_catalog() -> None:
    assert default_catalog().with_prices({}) is default_catalog()


def test_an_override_for_an_unknown_model_is_refused() -> None:
    with pytest.raises(UnknownModelError):
        default_catalog().with_prices({"gpt-5-turbo-ultra": 1.0})


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"),
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("  gpt-4o-mini\n", "gpt-4o-mini-2024-07-18"),
        ("gpt-3.5-turbo", "gpt-3.5-turbo-0125"),
        ("gpt-3.5-turbo-1106", "gpt-3.5-turbo-1106"),
        ("ft:gpt-4o-mini-2024-07-18:acme::9Xyz1234", "gpt-4o-mini-2024-07-18"),
        ("ft:gpt-4o-mini-2024-07-18:acme:support-bot:9Xyz1234", "gpt-4o-mini-2024-07-18"),
        ("ft:gpt-3.5-turbo:acme::abc", "gpt-3.5-turbo-0125"),
        ("ft:babbage-002:acme::abc", "babbage-002"),
    ],
)
def test_aliases_and_fine_tuned_ids_resolve_to_their_base(name: str, model_id: str) -> None:
    assert default_catalog().resolve(name).id == model_id


@pytest.mark.parametrize("name", ["gpt-5", "gpt-4o-mini-2099-01-01", "ft:", "ft:nope:acme::x", ""])
def test_unknown_models_raise_listing_the_known_ids(name: str) -> None:
    catalog = default_catalog()
    with pytest.raises(UnknownModelError) as raised:
        catalog.resolve(name)
    assert raised.value.known == [m.id for m in catalog.models]
    for spec in catalog.models:
        assert spec.id in str(raised.value)


def test_validating_for_an_unknown_model_raises(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError):
        validate(jsonl_file(chats(12))(tmp_path), model="gpt-5")


def test_catalog_names_list_ids_then_aliases() -> None:
    catalog = default_catalog()
    names = catalog.names()
    ids = [m.id for m in catalog.models]
    assert names[: len(ids)] == ids
    assert "gpt-4o-mini" in names[len(ids) :]


def test_catalog_data_is_consistent() -> None:
    catalog = default_catalog()
    assert isinstance(catalog, ModelCatalog)
    ids = [m.id for m in catalog.models]
    assert len(set(catalog.names())) == len(catalog.names()), "an alias is ambiguous"
    assert "gpt-4o-mini-2024-07-18" in ids and "babbage-002" in ids
    for spec in catalog.models:
        assert spec.encoding in {"o200k_base", "cl100k_base"}
        assert spec.training_usd_per_million > 0
        assert spec.max_tokens_per_example > 0
        assert set(spec.formats) <= {"chat", "preference", "prompt_completion"}
