"""The engine end to end: parallel and serial runs agree, line numbers survive part boundaries,
the normalized output, and every source format."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import psutil
import pytest

from finetuning.datasets import engine
from finetuning.datasets.engine import ValidationSettings, validate_file
from finetuning.datasets.findings import LINES_KEPT
from finetuning.datasets.report import ValidationReport
from finetuning.datasets.sources import PART_BYTES, iter_jsonl_parts
from tests.datasets.builders import (
    chat,
    chats,
    codes,
    finding,
    jsonl_bytes,
    jsonl_file,
    prompt_completion,
    validate,
    write,
    write_xlsx,
)

# --- A file of several parts -------------------------------------------------------------------

WIDTH = 255
"""Bytes of every example line but one, newline excluded: 4,096 lines fill a part exactly."""
BLANKS_AT_PART_END = (4097, 4098, 4099)
BAD_JSON_LINE = 9001
BAD_UTF8_LINE = 7777
DUPLICATE_LINE = 8500  # repeats line 3, from another part
EXTRA_KEY_EVERY = 700
TOTAL_LINES = 10_300


def _padded(value: dict[str, object], width: int) -> bytes:
    """The example as one JSON line of exactly `width` bytes (its user message is padded)."""
    text = json.dumps(value)
    missing = width - len(text)
    assert missing >= 0
    messages = json.loads(text)["messages"]
    messages[1]["content"] += "x" * missing
    line = json.dumps({**value, "messages": messages}).encode()
    assert len(line) == width
    return line


def _multi_part_file(folder: Path) -> Path:
    assert (WIDTH + 1) * 4096 == PART_BYTES  # the layout below assumes 1 MiB parts
    lines: list[bytes] = []
    for number in range(1, TOTAL_LINES + 1):
        if number in BLANKS_AT_PART_END:
            lines.append(b"")
            continue
        value = chat(3 if number == DUPLICATE_LINE else number)
        if number % EXTRA_KEY_EVERY == 0:
            value |= {"id": number}
        width = WIDTH - len(BLANKS_AT_PART_END) if number == BLANKS_AT_PART_END[0] - 1 else WIDTH
        line = _padded(value, width)
        if number == BAD_JSON_LINE:
            line = line[:-1] + b" "
        if number == BAD_UTF8_LINE:
            line = line.replace(b"xx", b"x\xff", 1)
        lines.append(line)
    return write(folder, b"\n".join(lines) + b"\n\n\n")


def _comparable(report: ValidationReport) -> dict[str, object]:
    as_dict = report.to_dict()
    del as_dict["seconds"]
    return as_dict


def test_the_multi_part_file_has_the_intended_layout(tmp_path: Path) -> None:
    path = _multi_part_file(tmp_path)
    with path.open("rb") as file:
        parts = list(iter_jsonl_parts(file, hashlib.sha256()))
    assert len(parts) == 3
    assert parts[0].data.endswith(b"}\n\n\n\n")
    assert parts[1].first_line == BLANKS_AT_PART_END[-1] + 1
    assert parts[2].first_line < DUPLICATE_LINE < BAD_JSON_LINE


def test_line_numbers_are_right_across_parts(tmp_path: Path) -> None:
    path = _multi_part_file(tmp_path)
    content = path.read_bytes()
    report = validate(path)
    examples = TOTAL_LINES - len(BLANKS_AT_PART_END)
    assert report.examples == examples
    assert report.sha256 == hashlib.sha256(content).hexdigest()
    assert report.file_bytes == len(content)

    blank = finding(report, "blank_line")
    assert blank is not None
    assert (blank.lines, blank.count) == (list(BLANKS_AT_PART_END), 3)

    bad_json = finding(report, "invalid_json")
    assert bad_json is not None
    assert bad_json.lines == [BAD_JSON_LINE]
    assert bad_json.details[0].startswith(f"column {WIDTH + 1}:")  # the brace is missing

    bad_utf8 = finding(report, "invalid_encoding")
    assert bad_utf8 is not None
    assert bad_utf8.lines == [BAD_UTF8_LINE]
    offset = content.index(b"\xff")
    assert bad_utf8.details == [f"invalid UTF-8 at byte offset {offset}"]

    duplicate = finding(report, "duplicate_example")
    assert duplicate is not None
    assert (duplicate.lines, duplicate.details) == ([DUPLICATE_LINE], ["same as line 3"])

    extra = finding(report, "unrecognized_key")
    assert extra is not None
    with_id = [n for n in range(1, TOTAL_LINES + 1) if n % EXTRA_KEY_EVERY == 0]
    assert extra.lines == with_id[:LINES_KEPT]
    assert extra.count == len(with_id)
    assert codes(report) == {
        "blank_line",
        "invalid_json",
        "invalid_encoding",
        "duplicate_example",
        "unrecognized_key",
    }


def test_parallel_and_serial_runs_give_the_same_report_and_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _multi_part_file(tmp_path)
    serial_output, parallel_output = tmp_path / "serial.jsonl", tmp_path / "parallel.jsonl"
    serial = validate_file(path, ValidationSettings(workers=1, normalized_output=serial_output))

    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    children: list[int] = []

    def progress(done: int, total: int) -> None:
        children.append(len(psutil.Process().children()))

    parallel = validate_file(
        path, ValidationSettings(workers=2, normalized_output=parallel_output), progress
    )
    assert children and all(count >= 1 for count in children), "worker processes were not used"
    assert _comparable(parallel) == _comparable(serial)
    assert parallel_output.read_bytes() == serial_output.read_bytes()


def test_progress_ends_at_the_file_size(tmp_path: Path) -> None:
    path = _multi_part_file(tmp_path)
    calls: list[tuple[int, int]] = []
    validate_file(
        path, ValidationSettings(workers=1), lambda done, total: calls.append((done, total))
    )
    size = path.stat().st_size
    assert len(calls) == 3
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1] == (size, size)


@pytest.mark.parametrize("name", ["data.csv", "data.json"])
def test_progress_ends_at_the_file_size_for_other_sources(tmp_path: Path, name: str) -> None:
    if name.endswith(".csv"):
        content = "prompt,completion\n" + "".join(f'q{i} ->," a{i}"\n' for i in range(12))
    else:
        content = json.dumps([chat(i) for i in range(12)])
    path = write(tmp_path, content.encode(), name)
    calls: list[tuple[int, int]] = []
    validate_file(
        path, ValidationSettings(workers=1), lambda done, total: calls.append((done, total))
    )
    size = path.stat().st_size
    assert calls and calls[-1] == (size, size)


# --- Normalized output -------------------------------------------------------------------------


def test_output_drops_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    lines = chats(12)
    content = (
        b"\xef\xbb\xbf"
        + jsonl_bytes(lines[:4], newline=b"\r\n")
        + b"\r\n  \r\n"
        + jsonl_bytes(lines[4:], newline=b"\r\n")
        + b"\r\n\r\n"
    )
    output = tmp_path / "out" / "normalized.jsonl"
    output.parent.mkdir()
    report = validate(write(tmp_path, content), normalized_output=output)
    assert report.examples == 12
    assert output.read_bytes() == jsonl_bytes(lines)


def test_output_keeps_only_lines_that_parse(tmp_path: Path) -> None:
    lines = chats(12, line3=b'{"messages": [', line7=b"\xff\xfe")
    output = tmp_path / "normalized.jsonl"
    validate(jsonl_file(lines)(tmp_path), normalized_output=output)
    kept = output.read_bytes().splitlines()
    assert [json.loads(line) for line in kept] == [chat(n) for n in range(1, 13) if n not in (3, 7)]


def test_output_replaces_an_existing_file(tmp_path: Path) -> None:
    output = tmp_path / "normalized.jsonl"
    output.write_bytes(b"old content that is much longer than nothing\n" * 1000)
    validate(jsonl_file(chats(12))(tmp_path), normalized_output=output)
    assert output.read_bytes() == jsonl_bytes(chats(12))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "normalized.jsonl"]


class InterruptedRunError(Exception):
    """Stands for whatever stops a run half-way (a crash, Ctrl-C)."""


@pytest.mark.parametrize("existing", [False, True])
def test_output_is_atomic_when_validation_fails(tmp_path: Path, existing: bool) -> None:
    path = _multi_part_file(tmp_path)
    output = tmp_path / "normalized.jsonl"
    if existing:
        output.write_bytes(b"previous\n")

    def fail_after_first_part(done: int, total: int) -> None:
        raise InterruptedRunError

    with pytest.raises(InterruptedRunError):
        validate_file(
            path, ValidationSettings(workers=1, normalized_output=output), fail_after_first_part
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [path.name] + (["normalized.jsonl"] if existing else [])
    )
    if existing:
        assert output.read_bytes() == b"previous\n"


def test_no_output_for_an_unknown_model(tmp_path: Path) -> None:
    output = tmp_path / "normalized.jsonl"
    with pytest.raises(ValueError, match="unknown base model"):
        validate(jsonl_file(chats(12))(tmp_path), model="nope", normalized_output=output)
    assert not output.exists()


def test_csv_becomes_jsonl(tmp_path: Path) -> None:
    rows = [prompt_completion(i) for i in range(1, 13)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["prompt", "completion"])
    writer.writeheader()
    writer.writerows(rows)
    output = tmp_path / "normalized.jsonl"
    path = write(tmp_path, buffer.getvalue().encode(), "data.csv")
    report = validate(path, normalized_output=output)
    assert report.source_format == "csv"
    assert report.format is not None and report.format.value == "prompt_completion"
    assert [json.loads(line) for line in output.read_bytes().splitlines()] == rows


def test_xlsx_becomes_jsonl(tmp_path: Path) -> None:
    rows = [["messages", "tools"]] + [[json.dumps(chat(i)["messages"]), None] for i in range(1, 13)]
    output = tmp_path / "normalized.jsonl"
    report = validate(write_xlsx(tmp_path / "data.xlsx", rows), normalized_output=output)
    assert report.source_format == "xlsx"
    assert report.valid
    assert [json.loads(line) for line in output.read_bytes().splitlines()] == [
        chat(i) for i in range(1, 13)
    ]


# --- Source formats ----------------------------------------------------------------------------


def test_a_json_array_is_read_element_by_element(tmp_path: Path) -> None:
    elements = [json.dumps(chat(i), indent=2) for i in range(1, 13)]
    elements[4] = json.dumps({"messages": []})
    text = "[\n" + ",\n".join(elements) + "\n]\n"
    report = validate(write(tmp_path, text.encode(), "data.json"))
    assert report.source_format == "json"
    assert report.examples == 12
    found = finding(report, "missing_messages_list")
    assert found is not None
    line_of_fifth = text[: text.index('{"messages": []}')].count("\n") + 1
    assert found.lines == [line_of_fifth]


def test_a_json_array_in_a_jsonl_file_is_read_as_json(tmp_path: Path) -> None:
    text = "[\n" + ",\n".join(json.dumps(chat(i)) for i in range(1, 13)) + "\n]"
    report = validate(write(tmp_path, b"\xef\xbb\xbf" + text.encode(), "data.jsonl"))
    assert (report.source_format, report.examples, report.valid) == ("json", 12, True)


def test_a_json_file_holding_jsonl_is_read_as_jsonl(tmp_path: Path) -> None:
    report = validate(write(tmp_path, jsonl_bytes(chats(12, line5=b"{oops")), "data.json"))
    assert report.source_format == "jsonl"
    assert report.examples == 12
    found = finding(report, "invalid_json")
    assert found is not None and found.lines == [5]


def test_a_pretty_printed_object_in_a_json_file_is_one_example(tmp_path: Path) -> None:
    report = validate(write(tmp_path, json.dumps(chat(1), indent=2).encode(), "data.json"))
    assert (report.source_format, report.examples) == ("json", 1)
    assert codes(report) == {"too_few_examples"}


def test_a_jsonl_file_whose_first_line_is_an_array_is_still_read_line_by_line(
    tmp_path: Path,
) -> None:
    """One mistaken first line must not hide the rest of the file behind a JSON-document read."""
    report = validate(jsonl_file([[chat(1)], *chats(12)[1:]])(tmp_path))
    assert report.source_format == "jsonl"
    assert report.examples == 12
    found = finding(report, "data_type")
    assert found is not None and found.lines == [1]
    assert "invalid_json" not in codes(report)


@pytest.mark.parametrize(("name", "delimiter"), [("data.csv", ","), ("data.tsv", "\t")])
def test_delimited_files_through_the_engine(tmp_path: Path, name: str, delimiter: str) -> None:
    rows = [[json.dumps(chat(i)["messages"]), "note"] for i in range(1, 13)]
    rows[5][0] = '[{"role": "user" "content": 1}]'
    text = delimiter.join(["messages", "comment"]) + "\n"
    text += "".join(
        delimiter.join('"' + cell.replace('"', '""') + '"' for cell in row) + "\n" for row in rows
    )
    path = write(tmp_path, text.encode(), name)
    report = validate(path)
    assert report.source_format == name[-3:]
    assert report.format is not None and report.format.value == "chat"
    assert report.examples == 12
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    bad = finding(report, "invalid_json")
    assert bad is not None and bad.lines == [7]  # header on line 1, sixth row on line 7
    extra = finding(report, "unrecognized_key")
    assert extra is not None and extra.count == 11 and extra.details[0] == "'comment'"


def test_xlsx_through_the_engine_uses_sheet_rows(tmp_path: Path) -> None:
    rows: list[list[object]] = [["prompt", "completion"]]
    rows += [[f"Question {i}?\n\n###\n\n", f" Answer {i}. END"] for i in range(1, 13)]
    rows[4][1] = ""
    report = validate(write_xlsx(tmp_path / "train.xlsx", rows))
    assert (report.source_format, report.examples) == ("xlsx", 12)
    assert report.estimate.model == "babbage-002"
    found = finding(report, "invalid_prompt_completion")
    assert found is not None and found.lines == [5]


def test_an_empty_csv_is_an_empty_file(tmp_path: Path) -> None:
    report = validate(write(tmp_path, b"prompt,completion\n", "data.csv"))
    assert report.examples == 0
    assert codes(report) == {"empty_file"}
    assert not report.valid


# --- Choosing the model ------------------------------------------------------------------------


def test_the_default_model_follows_the_files_format(tmp_path: Path) -> None:
    legacy = [b"not json", *(prompt_completion(i) for i in range(2, 13))]
    report = validate(jsonl_file(legacy)(tmp_path), default_model="gpt-4.1-nano")
    assert report.estimate.model == "babbage-002"
    (tmp_path / "chat").mkdir()
    report = validate(jsonl_file(chats(12))(tmp_path / "chat"), default_model="gpt-4.1-nano")
    assert report.estimate.model == "gpt-4.1-nano-2025-04-14"


# --- Values the JSONL decoder lets through -----------------------------------------------------

_LONE_SURROGATE_IN_OBJECT = (
    b'{"messages": [{"role": "system", "content": "s"}, '
    b'{"role": "user", "content": [{"type": "text", "text": "hi", "x": {"k": "\\ud800"}}]}, '
    b'{"role": "assistant", "content": "ok"}]}'
)


def test_a_lone_surrogate_inside_a_nested_value_is_reported_not_raised(tmp_path: Path) -> None:
    for content in (
        _LONE_SURROGATE_IN_OBJECT,
        b'{"messages": [{"role": "user", "content": {"a": "\\ud800"}}, '
        b'{"role": "assistant", "content": "ok"}]}',
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],'
        b' "tools": [{"type": "function", "function": {"name": "f", "description": "\\udfff"}}]}',
    ):
        report = validate(jsonl_file(chats(12, line5=content))(tmp_path))
        assert report.examples == 12


def test_a_lone_surrogate_means_the_same_in_jsonl_and_in_a_json_array(tmp_path: Path) -> None:
    line = (
        b'{"messages": [{"role": "system", "content": "s"}, '
        b'{"role": "user", "content": "\\ud800"}, {"role": "assistant", "content": "ok"}]}'
    )
    lines = [jsonl_bytes([chat(i)]).strip() for i in range(1, 13)]
    lines[4] = line
    as_jsonl = validate(write(tmp_path, b"\n".join(lines), "a.jsonl"))
    as_json = validate(write(tmp_path, b"[" + b",\n".join(lines) + b"]", "b.json"))
    assert codes(as_jsonl) == codes(as_json)
