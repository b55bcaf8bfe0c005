"""The result of validating one file, and its JSON form (a documented, stable contract)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finetuning.datasets.completion_style import CompletionStyle
from finetuning.datasets.estimate import Estimate
from finetuning.datasets.findings import KINDS, Finding, Severity
from finetuning.datasets.formats import DatasetFormat


@dataclass(frozen=True)
class TokenStats:
    """Token figures of the examples, counted the cookbook's way."""

    encoding: str
    total: int
    max_example: int
    max_example_line: int
    min_example: int
    mean_example: float
    billed_per_epoch: int

    def to_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "total": self.total,
            "max_example": self.max_example,
            "max_example_line": self.max_example_line,
            "min_example": self.min_example,
            "mean_example": round(self.mean_example, 1),
            "billed_per_epoch": self.billed_per_epoch,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TokenStats:
        return cls(
            encoding=raw["encoding"],
            total=raw["total"],
            max_example=raw["max_example"],
            max_example_line=raw["max_example_line"],
            min_example=raw["min_example"],
            mean_example=raw["mean_example"],
            billed_per_epoch=raw["billed_per_epoch"],
        )


@dataclass(frozen=True)
class ValidationReport:
    """Everything a person needs to decide whether the file will train, and for how much."""

    file_name: str
    file_bytes: int
    sha256: str
    source_format: str
    format: DatasetFormat | None
    examples: int
    findings: list[Finding]
    tokens: TokenStats
    estimate: Estimate
    prices_read_on: str
    seconds: float
    completion_style: CompletionStyle | None = None
    """How to query a model tuned on a prompt-completion file; None for other formats."""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.INFO]

    @property
    def valid(self) -> bool:
        """True when nothing would make the API reject the file: errors block a job."""
        return not self.errors

    def to_dict(self) -> dict[str, object]:
        """The `--json` object; see the README for each field."""
        return {
            "valid": self.valid,
            "format": self.format.value if self.format is not None else None,
            "examples": self.examples,
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
            "notes": [f.to_dict() for f in self.notes],
            "tokens": self.tokens.to_dict(),
            "estimate": self.estimate.to_dict() | {"prices_read_on": self.prices_read_on},
            "prompt_completion": (
                self.completion_style.to_dict() if self.completion_style is not None else None
            ),
            "file": {
                "name": self.file_name,
                "bytes": self.file_bytes,
                "sha256": self.sha256,
                "source_format": self.source_format,
            },
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ValidationReport:
        """Rebuild a stored report (the `to_dict` form), e.g. to show it again for the same bytes.

        Findings whose code this version no longer knows are dropped rather than guessed at; a
        report stored before `prompt_completion` existed has no style (None).
        """
        findings = [
            Finding(KINDS[item["code"]], list(item["lines"]), list(item["details"]), item["count"])
            for group in ("errors", "warnings", "notes")
            for item in raw.get(group, [])
            if item["code"] in KINDS
        ]
        estimate = raw["estimate"]
        file = raw["file"]
        style = raw.get("prompt_completion")
        return cls(
            file_name=file["name"],
            file_bytes=file["bytes"],
            sha256=file["sha256"],
            source_format=file["source_format"],
            format=DatasetFormat(raw["format"]) if raw.get("format") else None,
            examples=raw["examples"],
            findings=findings,
            tokens=TokenStats.from_dict(raw["tokens"]),
            estimate=Estimate(
                model=estimate["model"],
                epochs=estimate["epochs"],
                epochs_source=estimate["epochs_source"],
                billed_tokens_per_epoch=raw["tokens"]["billed_per_epoch"],
                billed_tokens=estimate["billed_tokens"],
                usd_per_million=estimate["usd_per_million_tokens"],
                cost_usd=estimate["cost_usd"],
                max_tokens_per_example=estimate["max_tokens_per_example"],
            ),
            prices_read_on=estimate["prices_read_on"],
            seconds=raw.get("seconds", 0.0),
            completion_style=CompletionStyle.from_dict(style) if style is not None else None,
        )
