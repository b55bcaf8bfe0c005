"""How a legacy prompt-completion dataset must be queried once a model is tuned on it.

A model trained on `prompt + separator -> completion + stop` only answers well when the query
ends with the same separator and generation stops at the same sequence; a classifier's answer is
one of a few labels. All three are read off the data while validating, part by part and in
bounded memory: the common endings as they are merged, and the distinct completions only while
there are few short ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import dropwhile
from typing import Any

MAX_LABELS = 20
"""More distinct completions than this and the dataset generates text rather than classifies."""
MAX_LABEL_CHARS = 100
"""A completion longer than this (stop included) is text, not a class label."""
MIN_EXAMPLES_PER_LABEL = 3
"""The legacy `prepare_data` rule: a classifier has, on average, more than 3 examples a label;
with fewer, distinct short completions are just short answers."""


@dataclass(frozen=True)
class CompletionStyle:
    """The separator to append to a prompt, the stop sequence, and the labels of a classifier."""

    separator: str
    """The common ending of every prompt, never starting inside a word ("" when none)."""
    stop: str
    """The common ending of every completion, never starting inside a word ("" when none)."""
    labels: tuple[str, ...] | None
    """The distinct completions without `stop`, sorted, when the dataset is a classifier."""

    def to_dict(self) -> dict[str, object]:
        return {
            "separator": self.separator,
            "stop": self.stop,
            "labels": list(self.labels) if self.labels is not None else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CompletionStyle:
        labels = raw.get("labels")
        return cls(
            separator=raw["separator"],
            stop=raw["stop"],
            labels=tuple(labels) if labels is not None else None,
        )


def common_suffix(known: str | None, text: str) -> str:
    """The longest suffix `known` and `text` share (`known` None means nothing seen yet)."""
    if known is None:
        return text
    length = 0
    limit = min(len(known), len(text))
    while length < limit and known[-1 - length] == text[-1 - length]:
        length += 1
    return known[len(known) - length :] if length else ""


@dataclass(slots=True)
class CommonEnding:
    """The longest ending every text seen shares, and whether it starts inside a word in one.

    The plain common ending can reach into the texts' own words (" positive\\n" and
    " negative\\n" share "ive\\n"); used as a stop it would cut the model's answer short. Knowing
    whether some text has a word character just before the ending is enough to trim that off
    exactly, and it merges part by part like the ending itself.
    """

    suffix: str | None = None
    """None until a text is seen."""
    word_before: bool = False
    """Some text has a letter or digit just before `suffix`."""

    def add(self, text: str) -> None:
        self.merge(CommonEnding(text))

    def merge(self, other: CommonEnding) -> None:
        if other.suffix is None:
            return
        if self.suffix is None:
            self.suffix, self.word_before = other.suffix, other.word_before
            return
        shared = common_suffix(self.suffix, other.suffix)
        self.word_before = _word_before(self, shared) or _word_before(other, shared)
        self.suffix = shared

    @property
    def ending(self) -> str:
        """The common ending without any word characters it takes from inside a word."""
        suffix = self.suffix or ""
        if self.word_before:
            return "".join(dropwhile(str.isalnum, suffix))
        return suffix


def _word_before(texts: CommonEnding, shared: str) -> bool:
    """Whether some of `texts` has a word character just before their ending `shared`."""
    suffix = texts.suffix or ""
    if len(shared) == len(suffix):
        return texts.word_before
    return suffix[-len(shared) - 1].isalnum()  # the same character in every one of `texts`


@dataclass(slots=True)
class StyleTally:
    """What the examples seen so far say about the style: their endings and, while they could be
    class labels, their distinct completions.

    `distinct` never holds more than MAX_LABELS + 1 texts of at most MAX_LABEL_CHARS; it becomes
    None (not a classifier) once there are more or one is longer, whatever the file's size.
    """

    prompts: CommonEnding = field(default_factory=CommonEnding)
    completions: CommonEnding = field(default_factory=CommonEnding)
    count: int = 0
    distinct: set[str] | None = field(default_factory=set)

    def add(self, prompt: str, completion: str) -> None:
        self.prompts.add(prompt)
        self.completions.add(completion)
        self.count += 1
        if self.distinct is not None:
            if len(completion) > MAX_LABEL_CHARS:
                self.distinct = None
            else:
                self.distinct.add(completion)
                self._cap()

    def merge(self, other: StyleTally) -> None:
        """Fold in the next part's tally."""
        self.prompts.merge(other.prompts)
        self.completions.merge(other.completions)
        self.count += other.count
        if self.distinct is not None:
            if other.distinct is None:
                self.distinct = None
            else:
                self.distinct |= other.distinct
                self._cap()

    def _cap(self) -> None:
        if self.distinct is not None and len(self.distinct) > MAX_LABELS:
            self.distinct = None

    def style(self) -> CompletionStyle:
        """The style these examples were written in."""
        stop = self.completions.ending
        if not _sendable(stop):
            stop = ""
        distinct = self.distinct or set()
        labels: tuple[str, ...] | None = None
        if len(distinct) >= 2 and self.count > MIN_EXAMPLES_PER_LABEL * len(distinct):
            labels = tuple(sorted(text[: len(text) - len(stop)] for text in distinct))
            if not all(label.strip() and _sendable(label) for label in labels):
                labels = None  # an empty answer is not a class one can show
        separator = self.prompts.ending
        return CompletionStyle(
            separator=separator if _sendable(separator) else "",
            stop=stop,
            labels=labels,
        )


def _sendable(text: str) -> bool:
    """JSON may escape a lone surrogate (`"\\ud800"`) that no UTF-8 request or stored report can
    carry: such an ending cannot be appended to a query, so it is no separator, stop or label."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
