"""Epochs, billed tokens and cost, as the API would pick and bill them."""

from __future__ import annotations

from dataclasses import dataclass

from finetuning.datasets.models import ModelSpec

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def default_epochs(examples: int) -> int:
    """The cookbook's rule for the API's default: 3, moved so examples x epochs is in [100, 25k]."""
    if examples <= 0:
        return TARGET_EPOCHS
    epochs = TARGET_EPOCHS
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // examples)
    elif examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // examples)
    return epochs


@dataclass(frozen=True)
class Estimate:
    """What a job on this dataset would train and cost."""

    model: str
    epochs: int
    epochs_source: str
    billed_tokens_per_epoch: int
    billed_tokens: int
    usd_per_million: float
    cost_usd: float
    max_tokens_per_example: int

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "epochs": self.epochs,
            "epochs_source": self.epochs_source,
            "billed_tokens": self.billed_tokens,
            "usd_per_million_tokens": self.usd_per_million,
            "cost_usd": self.cost_usd,
            "max_tokens_per_example": self.max_tokens_per_example,
        }


def estimate(
    model: ModelSpec, examples: int, billed_per_epoch: int, epochs: int | None = None
) -> Estimate:
    """Billed tokens = sum of min(example tokens, limit) x epochs; cost from the price table."""
    chosen = epochs if epochs is not None else default_epochs(examples)
    billed = billed_per_epoch * chosen
    return Estimate(
        model=model.id,
        epochs=chosen,
        epochs_source="given" if epochs is not None else "default",
        billed_tokens_per_epoch=billed_per_epoch,
        billed_tokens=billed,
        usd_per_million=model.training_usd_per_million,
        cost_usd=round(billed * model.training_usd_per_million / 1_000_000, 4),
        max_tokens_per_example=model.max_tokens_per_example,
    )
