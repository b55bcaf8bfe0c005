"""The prompt-completion style a report remembers: separator, stop and classifier labels, found the
same way whether the file is read in one part or in many, by one process or by workers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import orjson
import psutil
import pytest

from finetuning.datasets import engine
from finetuning.datasets.analysis import AnalysisOptions, RecordPart, analyze_part
from finetuning.datasets.completion_style import (
    MAX_LABEL_CHARS,
    MAX_LABELS,
    CommonEnding,
    CompletionStyle,
    StyleTally,
)
from finetuning.datasets.engine import ValidationSettings, validate_file
from finetuning.datasets.fixes import PROMPT_SEPARATOR, STOP_SEQUENCE, fix_file
from finetuning.datasets.report import ValidationReport
from finetuning.datasets.sources import PART_BYTES
from finetuning.datasets.summary import DatasetSummary
from finetuning.datasets.tabular import SourceRecord
from tests.datasets.builders import (
    SEPARATOR,
    chats,
    codes,
    jsonl_bytes,
    jsonl_file,
    prompt_completion,
    validate,
    write,
)

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
CLASSIFIER_SEPARATOR = "\n\n###\n\n"
CLASSIFIER_STOP = "\n"


def review(i: int, label: str, separator: str = CLASSIFIER_SEPARATOR, stop: str = "\n") -> object:
    """A sentiment example on line `i`; its prompt ends with the line number, so only the
    separator is common to every prompt."""
    return {"prompt": f"Review number {i}{separator}", "completion": f"{label}{stop}"}


def reviews(count: int, labels: list[str], **keys: str) -> list[object]:
    return [review(i, labels[i % len(labels)], **keys) for i in range(1, count + 1)]


def style_of(tmp_path: Path, lines: Sequence[object], **settings: object) -> CompletionStyle | None:
    return validate(jsonl_file(lines)(tmp_path), **settings).completion_style


# --- What is recorded ------------------------------------------------------------------------


def test_a_classifier_records_separator_stop_and_labels(tmp_path: Path) -> None:
    report = validate(jsonl_file(reviews(20, [" positive", " negative"]))(tmp_path))
    # " positive\n" and " negative\n" share "ive\n": the stop must not eat into the labels.
    assert report.completion_style == CompletionStyle(
        separator=CLASSIFIER_SEPARATOR, stop=CLASSIFIER_STOP, labels=(" negative", " positive")
    )
    assert report.valid
    assert not codes(report) & {"missing_prompt_separator", "missing_stop_sequence"}


def test_the_stop_starts_after_a_number_label(tmp_path: Path) -> None:
    style = style_of(tmp_path, reviews(30, [" 1", " 21", " 3"], stop=" END"))
    assert style == CompletionStyle(CLASSIFIER_SEPARATOR, " END", (" 1", " 21", " 3"))
    style = style_of(tmp_path, reviews(30, [" 1", " 21", " 31"]))
    assert style == CompletionStyle(CLASSIFIER_SEPARATOR, "\n", (" 1", " 21", " 31"))


def test_a_classifier_without_a_stop_is_told_so(tmp_path: Path) -> None:
    report = validate(jsonl_file(reviews(20, [" positive", " negative"], stop=""))(tmp_path))
    assert report.completion_style == CompletionStyle(
        CLASSIFIER_SEPARATOR, "", (" negative", " positive")
    )
    assert "missing_stop_sequence" in codes(report)


def test_free_text_has_no_labels(tmp_path: Path) -> None:
    lines = [prompt_completion(i) for i in range(1, 13)]
    report = validate(jsonl_file(lines)(tmp_path))
    # Every prompt ends "?" + separator and every completion "." + " END": the common endings.
    assert report.completion_style == CompletionStyle("?" + SEPARATOR, ". END", None)
    assert report.to_dict()["prompt_completion"] == {
        "separator": "?" + SEPARATOR,
        "stop": ". END",
        "labels": None,
    }


@pytest.mark.parametrize(
    ("labels", "count", "classifier"),
    [
        ([" yes", " no"], 7, True),  # 3.5 examples a label
        ([" yes", " no"], 6, False),  # 3 a label: short answers, not yet a classifier
        ([" yes"], 20, False),  # one answer is no classification
        ([f" class {n}" for n in range(MAX_LABELS)], 4 * MAX_LABELS, True),
        ([f" class {n}" for n in range(MAX_LABELS + 1)], 4 * (MAX_LABELS + 1), False),
        ([" yes", " " + "n" * (MAX_LABEL_CHARS - 2)], 20, True),
        ([" yes", " " + "n" * (MAX_LABEL_CHARS - 1)], 20, False),  # long text, stop included
    ],
)
def test_when_a_file_is_a_classifier(
    tmp_path: Path, labels: list[str], count: int, classifier: bool
) -> None:
    style = style_of(tmp_path, reviews(count, labels))
    assert style is not None
    assert style.labels == (tuple(sorted(labels)) if classifier else None)


def test_the_separator_does_not_start_inside_a_word(tmp_path: Path) -> None:
    prompts = ["I liked the movie", "I hated the score", "It bored me"]  # all end in "e"
    lines = [
        {"prompt": prompts[i % 3] + SEPARATOR, "completion": f" {label}\n"}
        for i, label in enumerate(["good", "bad", "bad"] * 5)
    ]
    assert style_of(tmp_path, lines) == CompletionStyle(SEPARATOR, "\n", (" bad", " good"))


def test_long_completions_are_never_labels(tmp_path: Path) -> None:
    long_texts = [" " + "yes " * 40 + "yes", " " + "no " * 40 + "no"]
    style = style_of(tmp_path, reviews(20, long_texts))
    assert style == CompletionStyle(CLASSIFIER_SEPARATOR, "\n", None)


def test_missing_separator_and_stop_are_recorded_empty(tmp_path: Path) -> None:
    lines = [{"prompt": f"Question {i}", "completion": f" Answer {i}"} for i in range(1, 13)]
    report = validate(jsonl_file(lines)(tmp_path))
    assert report.completion_style == CompletionStyle("", "", None)
    assert {"missing_prompt_separator", "missing_stop_sequence"} <= codes(report)


def test_an_ending_json_escapes_as_a_lone_surrogate_is_no_separator_stop_or_label(
    tmp_path: Path,
) -> None:
    """`"\\ud800"` is valid JSON but no UTF-8 query or stored report can carry it."""
    lines = reviews(24, ["good", "bad"], separator=" \ud800", stop="\ud800")
    report = validate(jsonl_file(lines)(tmp_path))
    assert report.completion_style == CompletionStyle("", "", None)
    orjson.dumps(report.to_dict())
    lines = reviews(24, ["good\ud800", "bad"])
    assert style_of(tmp_path, lines) == CompletionStyle(CLASSIFIER_SEPARATOR, "\n", None)


@pytest.mark.parametrize(
    "lines",
    [
        chats(12),
        [{"prompt": f"Question {i}?", "completion": f" Answer {i}."} for i in range(1, 3)]
        + chats(12),  # a few legacy lines in a chat file
    ],
    ids=["chat", "mostly_chat"],
)
def test_other_formats_have_no_style(tmp_path: Path, lines: list[object]) -> None:
    report = validate(jsonl_file(lines)(tmp_path))
    assert report.completion_style is None
    assert report.to_dict()["prompt_completion"] is None


def test_a_fixed_file_gets_the_fixes_separator_and_stop(tmp_path: Path) -> None:
    lines = [{"prompt": f"Review {i}", "completion": c} for i, c in enumerate(["pos", "neg"] * 8)]
    source = write(tmp_path, jsonl_bytes(lines))
    normalized = tmp_path / "normalized.jsonl"
    report = validate(source, normalized_output=normalized)
    assert report.completion_style == CompletionStyle("", "", ("neg", "pos"))
    fixed = fix_file(normalized, report, tmp_path / "fixed.jsonl")
    again = validate(fixed.path)
    assert again.completion_style == CompletionStyle(
        PROMPT_SEPARATOR, STOP_SEQUENCE, (" neg", " pos")
    )


# --- Many parts, many processes --------------------------------------------------------------


def _json_array(folder: Path, lines: list[object], name: str = "data.json") -> Path:
    return write(folder, json.dumps(lines, indent=1).encode(), name)


def _records_in_parts(
    folder: Path, lines: list[object], monkeypatch: pytest.MonkeyPatch
) -> tuple[ValidationReport, ValidationReport]:
    """The file validated whole in one process, then in parts of 7 examples across workers."""
    path = _json_array(folder, lines)
    whole = validate_file(path, ValidationSettings(workers=1))
    monkeypatch.setattr(engine, "RECORDS_PER_PART", 7)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    parted = validate_file(path, ValidationSettings(workers=2))
    return whole, parted


def test_labels_spread_over_many_parts_are_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = [f" class {n}" for n in range(MAX_LABELS)]
    # Ten lines a label in a row: each part of 7 holds one or two labels, the file all 20.
    lines = [review(i, labels[i // 10]) for i in range(10 * len(labels))]
    whole, parted = _records_in_parts(tmp_path, lines, monkeypatch)
    expected = CompletionStyle(CLASSIFIER_SEPARATOR, "\n", tuple(sorted(labels)))
    assert whole.completion_style == parted.completion_style == expected


def test_too_many_labels_over_parts_is_not_a_classifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = [f" class {n}" for n in range(MAX_LABELS + 1)]
    lines = [review(i, labels[i // 10]) for i in range(10 * len(labels))]
    whole, parted = _records_in_parts(tmp_path, lines, monkeypatch)
    expected = CompletionStyle(CLASSIFIER_SEPARATOR, "\n", None)
    assert whole.completion_style == parted.completion_style == expected


def test_one_long_completion_in_a_late_part_is_not_a_classifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = reviews(60, [" positive", " negative"])
    lines[55] = review(56, " positive" + " and more" * 12)
    whole, parted = _records_in_parts(tmp_path, lines, monkeypatch)
    assert whole.completion_style == parted.completion_style
    assert parted.completion_style == CompletionStyle(CLASSIFIER_SEPARATOR, "\n", None)


def _parts(lines: list[object], size: int) -> list[RecordPart]:
    records = [SourceRecord(n, line) for n, line in enumerate(lines, start=1)]
    return [RecordPart(records[start : start + size]) for start in range(0, len(records), size)]


def test_the_merge_caps_labels_no_part_overflows() -> None:
    """Two parts of 15 distinct labels each: every part is under the cap, the file is not."""
    lines = [review(i, f" class {i // 5}") for i in range(150)]
    options = AnalysisOptions(encoding="cl100k_base", max_tokens_per_example=2048)
    results = [analyze_part(options, part) for part in _parts(lines, 75)]
    assert [len(r.legacy.distinct or ()) for r in results] == [15, 15]
    summary = DatasetSummary()
    for result in results:
        summary.add(result)
    assert summary.legacy.distinct is None
    assert summary.legacy.count == 150
    assert summary.completion_style == CompletionStyle(CLASSIFIER_SEPARATOR, "\n", None)


def test_a_jsonl_file_of_several_parts_across_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real multi-megabyte JSONL file, cut into 1 MiB parts and analyzed by two workers."""
    labels = [" positive", " negative", " neutral"]
    padding = "lorem ipsum " * 80
    lines = [
        {"prompt": f"Review {padding}{i}{CLASSIFIER_SEPARATOR}", "completion": f"{labels[i % 3]}\n"}
        for i in range(3200)
    ]
    path = jsonl_file(lines)(tmp_path)
    assert path.stat().st_size > 3 * PART_BYTES
    serial = validate_file(path, ValidationSettings(workers=1))
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    children: list[int] = []
    parallel = validate_file(
        path,
        ValidationSettings(workers=2),
        lambda done, total: children.append(len(psutil.Process().children())),
    )
    assert len(children) >= 4 and all(count >= 1 for count in children)
    expected = CompletionStyle(CLASSIFIER_SEPARATOR, "\n", tuple(sorted(labels)))
    assert serial.completion_style == parallel.completion_style == expected


def test_the_tally_holds_at_most_one_label_too_many() -> None:
    tally = StyleTally()
    for n in range(MAX_LABELS):
        tally.add("Q ->", f" {n}")
        tally.add("Q ->", f" {n}")
    assert len(tally.distinct or ()) == MAX_LABELS
    tally.add("Q ->", " one more")
    assert (tally.count, tally.distinct) == (2 * MAX_LABELS + 1, None)
    tally.add("Q ->", " 1")
    assert (tally.count, tally.distinct) == (2 * MAX_LABELS + 2, None)


@pytest.mark.parametrize(
    ("parts", "ending"),
    [
        ([[" positive\n"], [" negative\n"]], "\n"),  # "ive\n" is common, "ive" inside words
        ([[" positive\n", " negative\n"], [" relative\n"]], "\n"),
        ([[" 1 END", " 2 END"], [" 3 END"]], " END"),
        ([["Question 1?###"], ["Question 2?###"]], "?###"),  # "?" ends a sentence, not a word
        ([["a long END"], ["the END"]], " END"),
        ([["END"], ["END"]], "END"),  # the whole text: nothing before it
        ([["xEND"], ["END"]], ""),  # inside a word in the first text
        ([[" pos"], [" neg"]], ""),
        ([[""], [" neg"]], ""),
    ],
)
def test_common_endings_merge_part_by_part(parts: list[list[str]], ending: str) -> None:
    merged = CommonEnding()
    for texts in parts:
        part = CommonEnding()
        for text in texts:
            part.add(text)
        merged.merge(part)
    in_one = CommonEnding()
    for text in (text for texts in parts for text in texts):
        in_one.add(text)
    assert merged.ending == in_one.ending == ending


# --- The stored form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "style",
    [
        CompletionStyle(CLASSIFIER_SEPARATOR, "\n", (" negative", " positive")),
        CompletionStyle("", "", None),
        CompletionStyle(" ->", " END", ("é", "\u2028")),
    ],
)
def test_the_style_round_trips_through_json(style: CompletionStyle) -> None:
    assert CompletionStyle.from_dict(orjson.loads(orjson.dumps(style.to_dict()))) == style


@pytest.mark.parametrize("classifier", [True, False])
def test_a_report_round_trips_with_its_style(tmp_path: Path, classifier: bool) -> None:
    lines = reviews(20, [" positive", " negative"]) if classifier else chats(12)
    report = validate(jsonl_file(lines)(tmp_path))
    stored = orjson.loads(orjson.dumps(report.to_dict()))
    again = ValidationReport.from_dict(stored)
    assert again.completion_style == report.completion_style
    assert (again.completion_style is None) is not classifier
    assert again.to_dict() == stored


def test_a_report_stored_before_the_style_existed_still_loads(tmp_path: Path) -> None:
    report = validate(jsonl_file(reviews(20, [" positive", " negative"]))(tmp_path))
    stored = orjson.loads(orjson.dumps(report.to_dict()))
    del stored["prompt_completion"]
    old = ValidationReport.from_dict(stored)
    assert old.completion_style is None
    assert old.to_dict() == stored | {"prompt_completion": None}


def test_the_readme_json_example_shows_every_key(tmp_path: Path) -> None:
    section = README.split("### `--json`", 1)[1]
    shown = json.loads(section.split("```json", 1)[1].split("```", 1)[0])
    report = validate(jsonl_file(reviews(20, [" positive", " negative"]))(tmp_path))
    assert list(shown) == list(report.to_dict())
    documented = section.split("### ", 1)[0]
    assert "- `prompt_completion`:" in documented
    style = report.to_dict()["prompt_completion"]
    assert isinstance(style, dict)
    assert all(f"`{key}`" in documented for key in style)
