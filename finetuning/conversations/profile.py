"""What a model needs to be talked to correctly: its endpoint, window, tokenizer, and for a
legacy model the shape of the data it learnt from.

A legacy (babbage/davinci) fine-tune only answers well when the prompt ends with the separator
of its training prompts and generation stops at its training stop sequence; both are in the
report of the dataset that trained it, which we keep. A classifier whose labels are each one
token can be asked for one token and its probabilities instead of free text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from finetuning.datasets.completion_style import CompletionStyle
from finetuning.datasets.models import Endpoint, ModelCatalog, ModelSpec
from finetuning.datasets.report import ValidationReport
from finetuning.datasets.tokenizer import get_encoding
from storage.models import Dataset, Job


@dataclass(frozen=True)
class ModelProfile:
    """A model (base or fine-tuned) and how to talk to it.

    `style` is the training data's completion style for a legacy fine-tune we trained (None for
    chat models, base models and models tuned elsewhere); `classifier_labels` its labels when
    every one is a single token of the model's encoding.
    """

    model: str
    base: ModelSpec
    style: CompletionStyle | None = None
    classifier_labels: tuple[str, ...] | None = None

    @property
    def endpoint(self) -> Endpoint:
        return self.base.endpoint

    @property
    def context_window(self) -> int:
        return self.base.context_window

    @property
    def encoding(self) -> str:
        return self.base.encoding

    @property
    def separator(self) -> str:
        return self.style.separator if self.style is not None else ""

    @property
    def stop(self) -> str | None:
        if self.style is None or not self.style.stop:
            return None
        return self.style.stop

    @property
    def is_classifier(self) -> bool:
        return self.classifier_labels is not None


class ModelProfiles:
    """Builds profiles from the catalog and the datasets behind our jobs (offline: no API)."""

    def __init__(self, factory: sessionmaker[Session], catalog: ModelCatalog) -> None:
        self._factory = factory
        self._catalog = catalog

    def profile(self, workspace_id: str, model: str) -> ModelProfile:
        """The profile of `model`; raises UnknownModelError when its base is not in the catalog.

        The catalog maps `ft:BASE:…` to BASE. The style comes from the newest job of this
        workspace that produced exactly this model.
        """
        base = self._catalog.resolve(model)
        if base.endpoint != "completions":
            return ModelProfile(model, base)
        style = self._training_style(workspace_id, model)
        labels = style.labels if style is not None else None
        if labels is not None and not _one_token_each(labels, base.encoding):
            labels = None
        return ModelProfile(model, base, style, labels)

    def _training_style(self, workspace_id: str, model: str) -> CompletionStyle | None:
        with self._factory() as session:
            report = session.scalar(
                select(Dataset.report)
                .join(Job, Job.dataset_id == Dataset.id)
                .where(Job.workspace_id == workspace_id, Job.fine_tuned_model == model)
                .order_by(Job.id.desc())
                .limit(1)
            )
        if report is None:
            return None
        return ValidationReport.from_dict(report).completion_style


def _one_token_each(labels: tuple[str, ...], encoding: str) -> bool:
    encode = get_encoding(encoding).encode_ordinary
    return bool(labels) and all(len(encode(label)) == 1 for label in labels)
