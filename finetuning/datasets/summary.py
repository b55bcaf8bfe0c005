"""Merging part results in file order, and the checks that need the whole file."""

from __future__ import annotations

from dataclasses import dataclass, field

from finetuning.datasets.analysis import LineSample, PartResult
from finetuning.datasets.completion_style import CompletionStyle, StyleTally
from finetuning.datasets.findings import FindingCollector
from finetuning.datasets.formats import DatasetFormat
from finetuning.datasets.models import ModelSpec

MIN_EXAMPLES = 10
"""The API refuses a training file with fewer examples."""
RECOMMENDED_EXAMPLES = 50
"""OpenAI's guide: start with 50-100 good examples."""


@dataclass
class DatasetSummary:
    """The whole file's figures, built part by part in bounded memory.

    Memory grows only with the number of distinct examples (one 64-bit fingerprint each, for
    duplicates), never with their size; distinct completions are kept only while they are few.
    """

    bytes_read: int = 0
    examples: int = 0
    findings: FindingCollector = field(default_factory=FindingCollector)
    formats: dict[DatasetFormat, LineSample] = field(default_factory=dict)
    counted: int = 0
    tokens_total: int = 0
    tokens_billed: int = 0
    tokens_max: int = 0
    tokens_max_line: int = 0
    tokens_min: int | None = None
    legacy: StyleTally = field(default_factory=StyleTally)
    _seen: dict[int, int] = field(default_factory=dict)
    _blank_pending: LineSample = field(default_factory=LineSample)

    def add(self, part: PartResult) -> None:
        """Fold in the next part of the file."""
        if part.examples and self._blank_pending.count:
            pending = self._blank_pending
            self.findings.add_lines("blank_line", pending.lines, pending.count)
            self._blank_pending = LineSample()
        self._blank_pending.extend(part.blank_pending)
        self.bytes_read += part.bytes_read
        self.examples += part.examples
        self.findings.merge(part.findings)
        for shape, sample in part.formats.items():
            self.formats.setdefault(shape, LineSample()).extend(sample)
        self.counted += part.counted
        self.tokens_total += part.tokens_total
        self.tokens_billed += part.tokens_billed
        if part.tokens_max > self.tokens_max:
            self.tokens_max, self.tokens_max_line = part.tokens_max, part.tokens_max_line
        if part.tokens_min is not None and (
            self.tokens_min is None or part.tokens_min < self.tokens_min
        ):
            self.tokens_min = part.tokens_min
        self.legacy.merge(part.legacy)
        seen = self._seen
        for digest, line in part.digests:
            first = seen.setdefault(digest, line)
            if first != line:
                self.findings.add("duplicate_example", line, f"same as line {first}")

    @property
    def format(self) -> DatasetFormat | None:
        """The file's format: the one most of its examples use."""
        if not self.formats:
            return None
        return max(self.formats.items(), key=lambda item: item[1].count)[0]

    @property
    def completion_style(self) -> CompletionStyle | None:
        """How to query a model tuned on this file, when it is a prompt-completion file."""
        if self.format is not DatasetFormat.PROMPT_COMPLETION:
            return None
        return self.legacy.style()

    def finish(self, model: ModelSpec) -> None:
        """The checks that can only be made once the whole file is read."""
        dominant = self.format
        for shape, sample in self.formats.items():
            if shape is not dominant:
                self.findings.add_lines(
                    "mixed_formats",
                    sample.lines,
                    sample.count,
                    f"a {shape.value} example in a {dominant} file",
                )
        if self.examples == 0:
            self.findings.add_file_level("empty_file")
        elif self.examples < MIN_EXAMPLES:
            self.findings.add_file_level("too_few_examples", f"{self.examples} example(s)")
        elif self.examples < RECOMMENDED_EXAMPLES:
            self.findings.add_file_level("small_dataset", f"{self.examples} examples")
        if dominant is not None and dominant.value not in model.formats:
            supported = ", ".join(model.formats)
            self.findings.add_file_level(
                "model_format_mismatch",
                f"{model.id} trains on {supported}; this file is {dominant.value}",
            )
        style = self.completion_style
        if style is not None:
            if not style.separator:
                self.findings.add_file_level("missing_prompt_separator")
            if not style.stop:
                self.findings.add_file_level("missing_stop_sequence")
