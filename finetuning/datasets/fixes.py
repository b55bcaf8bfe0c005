"""Mechanical fixes: what the legacy `prepare_data` offered as "[Y/n]" prompts, done in one go.

Only changes that cannot alter what a person meant are made: format conversion, dropping exact
duplicates and blank lines, and the legacy prompt/completion conventions. Anything needing
judgement stays a finding for a person.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson

from finetuning.datasets.formats import DatasetFormat
from finetuning.datasets.report import ValidationReport

PROMPT_SEPARATOR = "\n\n###\n\n"
STOP_SEQUENCE = "\n"
_FIX_CODES = frozenset(
    {
        "duplicate_example",
        "blank_line",
        "missing_prompt_separator",
        "completion_missing_leading_space",
        "missing_stop_sequence",
    }
)


@dataclass(frozen=True)
class FixResult:
    """The corrected file and a line per change, for the person who asked."""

    path: Path
    changes: list[str]


def planned_fixes(report: ValidationReport) -> list[str]:
    """What "Fix" would change in this file; empty when nothing can be fixed mechanically."""
    codes = {finding.code: finding.count for finding in report.findings}
    plan: list[str] = []
    if report.source_format != "jsonl":
        plan.append(f"convert {report.source_format.upper()} to JSONL")
    if "blank_line" in codes:
        plan.append(f"remove {codes['blank_line']:,} blank line(s)")
    if "duplicate_example" in codes:
        plan.append(f"remove {codes['duplicate_example']:,} duplicate example(s)")
    if "missing_prompt_separator" in codes:
        plan.append(f"end every prompt with {PROMPT_SEPARATOR!r}")
    if "completion_missing_leading_space" in codes:
        plan.append(
            f"start {codes['completion_missing_leading_space']:,} completion(s) with a space"
        )
    if "missing_stop_sequence" in codes:
        plan.append(f"end every completion with {STOP_SEQUENCE!r}")
    return plan


def is_fixable(report: ValidationReport) -> bool:
    """True when a fix would change something (and so a Fix button is worth offering)."""
    return report.source_format != "jsonl" or any(
        finding.code in _FIX_CODES for finding in report.findings
    )


def fix_file(normalized: Path, report: ValidationReport, target: Path) -> FixResult:
    """Apply every planned fix to the normalized JSONL, writing `target` (streamed)."""
    codes = {finding.code for finding in report.findings}
    legacy = report.format is DatasetFormat.PROMPT_COMPLETION
    add_separator = legacy and "missing_prompt_separator" in codes
    add_space = legacy and "completion_missing_leading_space" in codes
    add_stop = legacy and "missing_stop_sequence" in codes
    seen: set[bytes] = set()
    removed = spaced = 0
    # A writer of its own: two fixes of one dataset at once (two clicks) must not write into
    # each other's file; each replaces the target with the same bytes.
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    with normalized.open("rb") as source, partial.open("wb") as out:
        for line in source:
            raw = line.strip()
            if not raw:
                continue
            example = orjson.loads(raw)
            fingerprint = hashlib.blake2b(
                orjson.dumps(example, option=orjson.OPT_SORT_KEYS), digest_size=16
            ).digest()
            if fingerprint in seen:
                removed += 1
                continue
            seen.add(fingerprint)
            if isinstance(example, dict):
                prompt, completion = example.get("prompt"), example.get("completion")
                if (
                    add_separator
                    and isinstance(prompt, str)
                    and not prompt.endswith(PROMPT_SEPARATOR)
                ):
                    example["prompt"] = prompt + PROMPT_SEPARATOR
                if isinstance(completion, str) and completion:
                    if add_space and not completion[0].isspace():
                        completion = " " + completion
                        spaced += 1
                    if add_stop and not completion.endswith(STOP_SEQUENCE):
                        completion += STOP_SEQUENCE
                    example["completion"] = completion
            out.write(orjson.dumps(example))
            out.write(b"\n")
    partial.replace(target)
    return FixResult(target, _changes(report, removed, spaced, add_separator, add_stop))


def _changes(
    report: ValidationReport, removed: int, spaced: int, separator: bool, stop: bool
) -> list[str]:
    changes: list[str] = []
    if report.source_format != "jsonl":
        changes.append(f"converted {report.source_format.upper()} to JSONL")
    blank = next((f.count for f in report.findings if f.code == "blank_line"), 0)
    if blank:
        changes.append(f"removed {blank:,} blank line(s)")
    if removed:
        changes.append(f"removed {removed:,} duplicate example(s)")
    if separator:
        changes.append(f"ended every prompt with {PROMPT_SEPARATOR!r}")
    if spaced:
        changes.append(f"started {spaced:,} completion(s) with a space")
    if stop:
        changes.append(f"ended every completion with {STOP_SEQUENCE!r}")
    return changes
