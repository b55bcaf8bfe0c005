"""Mechanical fixes: what each finding plans, and a fixed file that re-validates clean of them."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from finetuning.datasets.fixes import (
    PROMPT_SEPARATOR,
    STOP_SEQUENCE,
    fix_file,
    is_fixable,
    planned_fixes,
)
from finetuning.datasets.report import ValidationReport
from tests.datasets.builders import (
    SEPARATOR,
    chat,
    chats,
    codes,
    jsonl_bytes,
    prompt_completion,
    validate,
    write,
)

FIX_CODES = {
    "blank_line",
    "duplicate_example",
    "missing_prompt_separator",
    "completion_missing_leading_space",
    "missing_stop_sequence",
}


def checked(
    folder: Path, content: bytes, name: str = "data.jsonl"
) -> tuple[Path, ValidationReport]:
    """Validate a file as the library does; return its normalized JSONL and its report."""
    source = write(folder, content, name)
    normalized = folder / f"{name}.normalized.jsonl"
    return normalized, validate(source, normalized_output=normalized)


def records(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def legacy(count: int = 12, **overrides: object) -> list[object]:
    """Prompt-completion lines; `overrides` maps a field to a format string over `i`."""
    lines: list[object] = []
    for i in range(1, count + 1):
        line = prompt_completion(i)
        for key, pattern in overrides.items():
            line[key] = str(pattern).format(i=i)
        lines.append(line)
    return lines


# A file per fixable finding, each with exactly that one thing wrong.
ONE_THING_WRONG: dict[str, tuple[bytes, str]] = {
    "blank_line": (
        jsonl_bytes(chats(6)) + b"\n  \n" + jsonl_bytes([chat(i) for i in range(7, 13)]),
        "remove 2 blank line(s)",
    ),
    "duplicate_example": (
        jsonl_bytes([*chats(12), chat(3), chat(3), chat(5)]),
        "remove 3 duplicate example(s)",
    ),
    "missing_prompt_separator": (
        jsonl_bytes(legacy(prompt="Question {i}")),
        f"end every prompt with {PROMPT_SEPARATOR!r}",
    ),
    "completion_missing_leading_space": (
        jsonl_bytes(legacy(4, completion="Answer {i}. END") + legacy(12)[4:]),
        "start 4 completion(s) with a space",
    ),
    "missing_stop_sequence": (
        jsonl_bytes(legacy(completion=" Answer {i}")),
        f"end every completion with {STOP_SEQUENCE!r}",
    ),
}


@pytest.mark.parametrize("code", sorted(ONE_THING_WRONG))
def test_each_fixable_finding_plans_exactly_its_fix(tmp_path: Path, code: str) -> None:
    content, plan = ONE_THING_WRONG[code]
    _, report = checked(tmp_path, content)

    assert codes(report) & FIX_CODES == {code}
    assert is_fixable(report)
    assert planned_fixes(report) == [plan]


@pytest.mark.parametrize("code", sorted(ONE_THING_WRONG))
def test_each_fix_removes_its_finding_and_nothing_else_changes_meaning(
    tmp_path: Path, code: str
) -> None:
    content, _ = ONE_THING_WRONG[code]
    normalized, report = checked(tmp_path, content)

    result = fix_file(normalized, report, tmp_path / "fixed.jsonl")

    assert result.path == tmp_path / "fixed.jsonl"
    assert len(result.changes) == 1
    again = validate(result.path)
    assert codes(again) & FIX_CODES == set()
    assert again.valid
    assert not is_fixable(again)
    assert planned_fixes(again) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(jsonl_bytes(chats(12)), id="clean-chat"),
        pytest.param(jsonl_bytes(legacy()), id="clean-prompt-completion"),
        pytest.param(jsonl_bytes(chats(12, line4=b"{broken")), id="invalid-json"),
        pytest.param(jsonl_bytes(chats(3)), id="too-few-examples"),
    ],
)
def test_findings_a_person_must_fix_offer_no_fix(tmp_path: Path, content: bytes) -> None:
    _, report = checked(tmp_path, content)

    assert codes(report) & FIX_CODES == set()
    assert not is_fixable(report)
    assert planned_fixes(report) == []


def test_duplicates_are_dropped_keeping_the_first_of_each(tmp_path: Path) -> None:
    lines = [*chats(12), chat(2), chat(7), chat(2)]
    content = jsonl_bytes(lines[:5]) + b"\n\n" + jsonl_bytes(lines[5:])
    normalized, report = checked(tmp_path, content)
    assert planned_fixes(report) == ["remove 2 blank line(s)", "remove 3 duplicate example(s)"]

    result = fix_file(normalized, report, tmp_path / "fixed.jsonl")

    assert records(result.path) == chats(12)
    assert b"\n\n" not in result.path.read_bytes()
    assert result.changes == ["removed 2 blank line(s)", "removed 3 duplicate example(s)"]
    assert validate(result.path).examples == 12


def test_the_fixer_itself_skips_blank_and_whitespace_lines(tmp_path: Path) -> None:
    """Even handed the raw JSONL instead of the normalized file, no blank line survives."""
    content = jsonl_bytes(chats(4)) + b"\n   \n\t\n" + jsonl_bytes([chat(i) for i in range(5, 13)])
    _, report = checked(tmp_path, content, "raw.jsonl")
    source = tmp_path / "raw.jsonl"

    result = fix_file(source, report, tmp_path / "fixed.jsonl")

    assert records(result.path) == chats(12)
    assert "blank_line" not in codes(validate(result.path))


def test_prompt_completion_gets_separator_leading_space_and_stop(tmp_path: Path) -> None:
    lines = legacy(prompt="Question {i}", completion="Answer {i}")
    lines[0] = {"prompt": "Question 1", "completion": " Answer 1"}
    normalized, report = checked(tmp_path, jsonl_bytes(lines))
    assert {
        "missing_prompt_separator",
        "completion_missing_leading_space",
        "missing_stop_sequence",
    } <= codes(report)

    result = fix_file(normalized, report, tmp_path / "fixed.jsonl")

    fixed = records(result.path)
    assert fixed[0] == {"prompt": "Question 1" + PROMPT_SEPARATOR, "completion": " Answer 1\n"}
    assert fixed[5] == {"prompt": "Question 6" + PROMPT_SEPARATOR, "completion": " Answer 6\n"}
    assert all(str(r["prompt"]).endswith(PROMPT_SEPARATOR) for r in fixed)
    assert all(str(r["completion"]).startswith(" ") for r in fixed)
    assert all(not str(r["completion"]).startswith("  ") for r in fixed)
    assert all(str(r["completion"]).endswith(STOP_SEQUENCE) for r in fixed)
    assert result.changes == [
        f"ended every prompt with {PROMPT_SEPARATOR!r}",
        "started 11 completion(s) with a space",
        f"ended every completion with {STOP_SEQUENCE!r}",
    ]
    again = validate(result.path)
    assert codes(again) & FIX_CODES == set()
    assert again.valid


def test_only_the_planned_legacy_fixes_are_applied(tmp_path: Path) -> None:
    """A file that already has a separator and a stop keeps them as they are."""
    lines = legacy(3, completion="Answer {i}. END") + legacy(12)[3:]
    normalized, report = checked(tmp_path, jsonl_bytes(lines))

    result = fix_file(normalized, report, tmp_path / "fixed.jsonl")

    fixed = records(result.path)
    assert [r["prompt"] for r in fixed] == [f"Question {i}?{SEPARATOR}" for i in range(1, 13)]
    assert [r["completion"] for r in fixed] == [f" Answer {i}. END" for i in range(1, 13)]


def test_csv_is_converted_to_jsonl_that_revalidates_clean(tmp_path: Path) -> None:
    rows = "".join(f'"Question {i}?\n\n###\n\n"," Answer {i}. END"\n' for i in range(1, 13))
    normalized, report = checked(tmp_path, f"prompt,completion\n{rows}".encode(), "data.csv")
    assert report.source_format == "csv"
    assert is_fixable(report)
    assert planned_fixes(report) == ["convert CSV to JSONL"]

    result = fix_file(normalized, report, tmp_path / "fixed.jsonl")

    assert result.changes == ["converted CSV to JSONL"]
    assert records(result.path) == legacy()
    again = validate(result.path)
    assert again.source_format == "jsonl"
    assert again.valid and again.examples == 12
    assert not is_fixable(again)
