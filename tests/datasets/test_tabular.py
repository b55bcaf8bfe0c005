"""The non-JSONL readers: each rule of the contract has a test that breaks when the rule does."""

from __future__ import annotations

import io
import json
import tempfile
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finetuning.datasets.tabular import (
    SourceError,
    SourceRecord,
    read_delimited,
    read_json_document,
    read_xlsx,
)

CODES = {"invalid_encoding", "invalid_json", "unreadable_file", "unsafe_file"}


def _csv(tmp_path: Path, content: bytes | str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _rows(path: Path, delimiter: str = ",") -> list[tuple[int, object]]:
    return [(record.line, record.value) for record in read_delimited(path, delimiter)]


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


# --- CSV / TSV: columns ------------------------------------------------------------------------


def test_header_names_are_stripped_and_lower_cased(tmp_path: Path) -> None:
    path = _csv(tmp_path, " Prompt ,COMPLETION\t\nhi,there\n")
    assert _rows(path) == [(2, {"prompt": "hi", "completion": "there"})]


def test_a_file_with_only_a_header_has_no_records(tmp_path: Path) -> None:
    assert _rows(_csv(tmp_path, "prompt,completion\n")) == []


def test_prompt_and_completion_stay_text_even_when_they_look_like_json(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'prompt,completion\n42,"{""a"": 1}"\n')
    assert _rows(path) == [(2, {"prompt": "42", "completion": '{"a": 1}'})]


def test_json_columns_are_parsed(tmp_path: Path) -> None:
    cells = {
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "functions": [{"name": "g"}],
        "input": {"messages": [{"role": "user", "content": "q"}]},
        "preferred_output": [{"role": "assistant", "content": "a"}],
        "non_preferred_output": [{"role": "assistant", "content": "b"}],
        "parallel_tool_calls": False,
    }
    header = ",".join(cells)
    row = ",".join('"' + json.dumps(value).replace('"', '""') + '"' for value in cells.values())
    assert _rows(_csv(tmp_path, f"{header}\n{row}\n")) == [(2, cells)]


def test_invalid_json_cell_is_an_error_for_that_row_only(tmp_path: Path) -> None:
    bad = '{"role": "user" "x": 1}'.replace('"', '""')
    path = _csv(tmp_path, f'prompt,messages\na,"{bad}"\nb,[]\n')
    error = SourceError("invalid_json", "column 'messages': Expecting ',' delimiter at column 17")
    assert _rows(path) == [(2, error), (3, {"prompt": "b", "messages": []})]


def test_json_cells_follow_the_jsonl_rules(tmp_path: Path) -> None:
    """NaN is refused; a lone surrogate escape is not (the JSONL path keeps it too)."""
    path = _csv(tmp_path, 'messages\n[NaN]\n"[""\\ud800""]"\n')
    assert _rows(path) == [
        (2, SourceError("invalid_json", "column 'messages': NaN is not valid JSON")),
        (3, {"messages": ["\ud800"]}),
    ]


def test_json_document_follows_the_jsonl_rules(tmp_path: Path) -> None:
    assert _json(tmp_path, '["\\ud800", 1.5]') == [(1, "\ud800"), (1, 1.5)]
    [(_, error)] = _json(tmp_path, "[Infinity]")
    assert error == SourceError("invalid_json", "line 1: Infinity is not valid JSON")


def test_multi_line_json_cell_error_names_line_and_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'messages\n"[\n  {""a"" 1}]"\n')
    assert _rows(path) == [
        (
            2,
            SourceError(
                "invalid_json", "column 'messages': Expecting ':' delimiter at line 2 column 8"
            ),
        )
    ]


def test_other_columns_are_kept_as_text(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'prompt,completion,weight,metadata\na,b,1,"{""k"": 2}"\n')
    assert _rows(path) == [
        (2, {"prompt": "a", "completion": "b", "weight": "1", "metadata": '{"k": 2}'})
    ]


def test_unnamed_and_extra_columns_keep_their_data_under_a_visible_name(tmp_path: Path) -> None:
    path = _csv(tmp_path, "prompt,,prompt\na,b,c,d\n")
    assert _rows(path) == [
        (2, {"prompt": "a", "column 2": "b", "prompt (column 3)": "c", "column 4": "d"})
    ]


def test_empty_optional_cells_are_omitted_and_blank_rows_skipped(tmp_path: Path) -> None:
    content = "prompt,completion,tools,note\n,,,\na,,, \n  ,\t,,\n\nb,c,,\n"
    assert _rows(_csv(tmp_path, content)) == [
        (3, {"prompt": "a", "completion": ""}),
        (6, {"prompt": "b", "completion": "c"}),
    ]


def test_header_is_the_first_non_blank_row(tmp_path: Path) -> None:
    assert _rows(_csv(tmp_path, "\n,\nprompt\nx\n")) == [(4, {"prompt": "x"})]


def test_record_line_is_where_a_multi_line_row_starts(tmp_path: Path) -> None:
    content = 'prompt,completion\n"one\ntwo\nthree",x\nnext,y\n'
    assert _rows(_csv(tmp_path, content)) == [
        (2, {"prompt": "one\ntwo\nthree", "completion": "x"}),
        (5, {"prompt": "next", "completion": "y"}),
    ]


def test_tsv_reads_tabs_and_quoted_tabs(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'Prompt\tCompletion\na,b\t"c\td"\n', "data.tsv")
    assert _rows(path, "\t") == [(2, {"prompt": "a,b", "completion": "c\td"})]


def test_other_delimiters_are_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="delimiter"):
        next(read_delimited(_csv(tmp_path, "a;b\n"), ";"))


# --- CSV / TSV: encoding -----------------------------------------------------------------------


def test_utf8_bom_and_crlf_line_ends_are_accepted(tmp_path: Path) -> None:
    path = _csv(tmp_path, '\ufeffprompt,completion\r\nhé,"a\r\nb"\r\nx,y\r\n'.encode())
    assert _rows(path) == [
        (2, {"prompt": "hé", "completion": "a\r\nb"}),
        (4, {"prompt": "x", "completion": "y"}),
    ]


def test_lone_cr_line_ends_count_as_lines(tmp_path: Path) -> None:
    path = _csv(tmp_path, "prompt,completion\ra,b\rc,d\r")
    assert _rows(path) == [
        (2, {"prompt": "a", "completion": "b"}),
        (3, {"prompt": "c", "completion": "d"}),
    ]


def test_invalid_utf8_names_its_byte_offset_and_line_and_reading_goes_on(tmp_path: Path) -> None:
    content = b'\xef\xbb\xbfprompt,completion\nok,fine\n"multi\nli\xffne",x\nnext,row\n'
    [first, bad, after] = _rows(_csv(tmp_path, content))
    assert first == (2, {"prompt": "ok", "completion": "fine"})
    offset = content.index(b"\xff")
    assert bad == (4, SourceError("invalid_encoding", f"invalid UTF-8 at byte offset {offset}"))
    assert after == (5, {"prompt": "next", "completion": "row"})


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
@pytest.mark.parametrize("reader", ["csv", "json"])
def test_utf16_files_get_one_clear_error(tmp_path: Path, bom: bytes, reader: str) -> None:
    codec = "utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"
    text = "prompt,completion\na,b\n" if reader == "csv" else '[{"prompt": "a"}]'
    path = _csv(tmp_path, bom + text.encode(codec))
    records = list(read_delimited(path, ",") if reader == "csv" else read_json_document(path))
    utf16 = SourceError("invalid_encoding", "the file is UTF-16; save it as UTF-8")
    assert records == [SourceRecord(1, utf16)]


# --- CSV / TSV: size ---------------------------------------------------------------------------


def test_csv_streams_in_bounded_memory(tmp_path: Path) -> None:
    row = "p" * 5_000 + ',"' + ("c" * 99 + "\n") * 50 + '"\n'
    path = tmp_path / "big.csv"
    with path.open("w") as file:
        file.write("prompt,completion\n")
        for _ in range(3_000):
            file.write(row)
    assert path.stat().st_size > 25_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_delimited(path, ","))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3_000
    assert peak < 5_000_000


def test_fields_larger_than_csvs_default_limit_are_read(tmp_path: Path) -> None:
    long = "x" * 1_000_000
    [(line, value)] = _rows(_csv(tmp_path, f"prompt,completion\n{long},y\n"))
    assert (line, value) == (2, {"prompt": long, "completion": "y"})


def test_a_field_over_64_mib_ends_the_stream_with_an_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("w") as file:
        file.write('prompt,completion\na,b\nc,"')
        piece = "z" * 1023 + "\n"
        for _ in range(65 * 1024):
            file.write(piece)
        file.write('"\nd,e\n')
    records = _rows(path)
    assert records[0] == (2, {"prompt": "a", "completion": "b"})
    [(line, error)] = records[1:]
    assert line == 3
    assert isinstance(error, SourceError)
    assert error.code == "unreadable_file"


def test_a_line_over_64_mib_ends_the_stream_with_an_error(tmp_path: Path) -> None:
    path = tmp_path / "oneline.csv"
    with path.open("w") as file:
        file.write("prompt\na\n")
        for _ in range(65):
            file.write("y" * (1 << 20))
    records = _rows(path)
    assert records[0] == (2, {"prompt": "a"})
    assert records[1:] == [(3, SourceError("unreadable_file", "line 3 is longer than 64 MiB"))]


# --- XLSX --------------------------------------------------------------------------------------


def test_xlsx_uses_sheet_row_numbers_and_turns_numbers_into_text(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "hi"}]
    path = _xlsx(
        tmp_path / "d.xlsx",
        {
            "Sheet1": [
                [" Prompt", "Completion ", "messages", "parallel_tool_calls", "weight"],
                [42, 1.5, json.dumps(messages), True, 3],
                [],
                ["a", "b", None, None, None],
            ]
        },
    )
    assert [(record.line, record.value) for record in read_xlsx(path)] == [
        (
            2,
            {
                "prompt": "42",
                "completion": "1.5",
                "messages": messages,
                "parallel_tool_calls": True,
                "weight": "3",
            },
        ),
        (4, {"prompt": "a", "completion": "b"}),
    ]


def test_xlsx_invalid_json_cell_is_an_error_for_that_row(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "d.xlsx", {"S": [["messages"], ["[1,"], ["[2]"]]})
    assert [(record.line, record.value) for record in read_xlsx(path)] == [
        (2, SourceError("invalid_json", "column 'messages': Expecting value at column 4")),
        (3, {"messages": [2]}),
    ]


@pytest.mark.parametrize(
    ("titles", "chosen"),
    [(["Notes", "Train"], "Train"), (["Notes", "DATA"], "DATA"), (["First", "Other"], "First")],
)
def test_xlsx_reads_the_train_or_data_sheet_else_the_first(
    tmp_path: Path, titles: list[str], chosen: str
) -> None:
    path = _xlsx(tmp_path / "d.xlsx", {title: [["prompt"], [title]] for title in titles})
    assert [record.value for record in read_xlsx(path)] == [{"prompt": chosen}]


def test_xlsx_rows_beyond_a_wrong_stored_dimension_are_still_read(tmp_path: Path) -> None:
    right = _xlsx(
        tmp_path / "right.xlsx", {"S": [["prompt", "completion"], ["a", "b"], ["c", "d"]]}
    )
    wrong = tmp_path / "wrong.xlsx"
    with zipfile.ZipFile(right) as old, zipfile.ZipFile(wrong, "w") as new:
        for member in old.infolist():
            data = old.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:B3"' in data
                data = data.replace(b'<dimension ref="A1:B3"', b'<dimension ref="A1:A2"')
            new.writestr(member.filename, data)
    assert [record.value for record in read_xlsx(wrong)] == [
        {"prompt": "a", "completion": "b"},
        {"prompt": "c", "completion": "d"},
    ]


def _with_padded_sheet(source: Path, target: Path, padding: int) -> None:
    """Copy a workbook, its first sheet's XML padded with whitespace (still valid XML)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for member in old.infolist():
            data = old.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", b" " * padding + b"</worksheet>")
            new.writestr(member.filename, data)


def test_xlsx_with_a_compression_ratio_over_100_is_refused_before_opening(tmp_path: Path) -> None:
    plain = _xlsx(tmp_path / "plain.xlsx", {"S": [["prompt"], ["x"]]})
    bomb = tmp_path / "bomb.xlsx"
    _with_padded_sheet(plain, bomb, 20_000_000)
    # openpyxl itself would read it happily: only the guard stands in the way.
    assert openpyxl.load_workbook(bomb, read_only=True)["S"]["A2"].value == "x"
    [record] = read_xlsx(bomb)
    assert record.line == 1
    assert isinstance(record.value, SourceError)
    assert record.value.code == "unsafe_file"


def test_xlsx_over_the_uncompressed_size_limit_is_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "d.xlsx", {"S": [["prompt"], ["x"]]})
    assert [record.value for record in read_xlsx(path)] == [{"prompt": "x"}]
    [record] = read_xlsx(path, max_uncompressed_bytes=1_000)
    assert isinstance(record.value, SourceError)
    assert record.value.code == "unsafe_file"


def test_xlsx_member_declaring_a_huge_size_is_refused(tmp_path: Path) -> None:
    """A member whose header claims 1 TiB: the declared size is what counts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 1000)
    data = bytearray(buffer.getvalue())
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (0xFFFF_FFFE).to_bytes(4, "little")
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bytes(data))
    [record] = read_xlsx(path)
    assert isinstance(record.value, SourceError)
    assert record.value.code == "unsafe_file"


@pytest.mark.parametrize(
    "content",
    [
        b"prompt,completion\na,b\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500,
        b"PK\x03\x04 truncated",
        b"",
    ],
    ids=["text", "old-xls", "truncated-zip", "empty"],
)
def test_xlsx_that_is_not_a_workbook_is_unreadable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "d.xlsx"
    path.write_bytes(content)
    [record] = read_xlsx(path)
    assert record.line == 1
    assert isinstance(record.value, SourceError)
    assert record.value.code == "unreadable_file"


def test_zip_that_is_not_a_workbook_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "d.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    [record] = read_xlsx(path)
    assert isinstance(record.value, SourceError)
    assert record.value.code == "unreadable_file"


def test_missing_file_raises_oserror(tmp_path: Path) -> None:
    for reader in (read_xlsx, read_json_document, lambda path: read_delimited(path, ",")):
        with pytest.raises(OSError):
            next(iter(reader(tmp_path / "absent")))


# --- JSON document -----------------------------------------------------------------------------


def _json(tmp_path: Path, content: bytes | str) -> list[tuple[int, object]]:
    path = _csv(tmp_path, content, "data.json")
    return [(record.line, record.value) for record in read_json_document(path)]


def test_json_array_elements_carry_the_line_they_start_on(tmp_path: Path) -> None:
    content = '[\n  {"prompt": "a",\n   "completion": "b"},\n\n  {"prompt": "c"}, 7\n]\n'
    assert _json(tmp_path, content) == [
        (2, {"prompt": "a", "completion": "b"}),
        (5, {"prompt": "c"}),
        (5, 7),
    ]


def test_json_single_object_is_one_record(tmp_path: Path) -> None:
    assert _json(tmp_path, '\n\n {"messages": []}\n') == [(3, {"messages": []})]


def test_json_empty_array_and_empty_file_have_no_records(tmp_path: Path) -> None:
    assert _json(tmp_path, " [ ] ") == []
    assert _json(tmp_path, "\n") == []


def test_json_syntax_error_names_line_and_column_after_earlier_elements(tmp_path: Path) -> None:
    content = '[{"a": 1},\n {"b": 2}\n {"c": 3}]'
    assert _json(tmp_path, content) == [
        (1, {"a": 1}),
        (2, {"b": 2}),
        (3, SourceError("invalid_json", "line 3 column 2: Expecting ',' delimiter")),
    ]


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ('[{"a": 1},\n {"b" 2}]', "line 2 column 7: Expecting ':' delimiter"),
        ("[1,\n]", "line 2 column 1: Expecting value"),
        ("[1] [2]", "line 1 column 5: Extra data"),
        ('{"a": 1}\n{"a": 2}', "line 2 column 1: Extra data"),
        ('[1,\n  {"a": NaN}]', "line 2: NaN is not valid JSON"),
    ],
)
def test_json_errors(tmp_path: Path, content: str, detail: str) -> None:
    records = _json(tmp_path, content)
    line = int(detail.split()[1].rstrip(":"))
    assert records[-1] == (line, SourceError("invalid_json", detail))


def test_json_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    [(line, value)] = _json(tmp_path, "[" * 100_000)
    assert line == 1
    assert isinstance(value, SourceError)
    assert value.code == "invalid_json"


def test_json_number_too_long_to_convert_is_an_error_not_a_crash(tmp_path: Path) -> None:
    [first, (line, value)] = _json(tmp_path, "[1,\n" + "9" * 5_000 + "]")
    assert first == (1, 1)
    assert line == 2
    assert isinstance(value, SourceError)
    assert value.code == "invalid_json"


def test_json_bom_is_skipped_and_invalid_utf8_named_with_offset_and_line(tmp_path: Path) -> None:
    assert _json(tmp_path, '\ufeff[{"prompt": "é"}]'.encode()) == [(1, {"prompt": "é"})]
    content = b'\xef\xbb\xbf[\n{"prompt": "a"},\n{"prompt": "\xc3"}]'
    offset = content.index(b"\xc3")
    assert _json(tmp_path, content) == [
        (3, SourceError("invalid_encoding", f"invalid UTF-8 at byte offset {offset}"))
    ]


# --- Never raise -------------------------------------------------------------------------------


def _check_records(records: Iterator[SourceRecord]) -> None:
    last = 1
    for record in records:
        assert isinstance(record, SourceRecord)
        assert record.line >= last
        last = record.line
        if isinstance(record.value, SourceError):
            assert record.value.code in CODES
            assert record.value.detail


_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_CSV_TEXT = st.text(
    alphabet=st.sampled_from('prompt,mesag"\t\r\n[]{}:1 \xe9\ufeff\0'), max_size=200
)


@_FUZZ
@given(st.one_of(st.binary(max_size=300), _CSV_TEXT.map(str.encode)))
def test_csv_and_tsv_never_raise(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "f"
        path.write_bytes(content)
        _check_records(read_delimited(path, ","))
        _check_records(read_delimited(path, "\t"))


_JSON_TEXT = st.text(alphabet=st.sampled_from('[]{}",:\n 1.eNa\\u0d8\xe9'), max_size=200)


@_FUZZ
@given(st.one_of(st.binary(max_size=300), _JSON_TEXT.map(str.encode)))
def test_json_document_never_raises(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "f"
        path.write_bytes(content)
        _check_records(read_json_document(path))


def _small_workbook() -> bytes:
    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["prompt", "completion", "messages"])
    sheet.append(["a", 2, "[]"])
    workbook.save(buffer)
    return buffer.getvalue()


_WORKBOOK = _small_workbook()


def _mutated_workbook(edits: list[tuple[int, int]], member_index: int) -> bytes:
    """The small workbook with bytes of one member's XML replaced, re-zipped validly."""
    source = zipfile.ZipFile(io.BytesIO(_WORKBOOK))
    members = source.infolist()
    target_name = members[member_index % len(members)].filename
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for member in members:
            data = bytearray(source.read(member))
            if member.filename == target_name and data:
                for position, byte in edits:
                    data[position % len(data)] = byte
            target.writestr(member.filename, bytes(data))
    return buffer.getvalue()


_XLSX_BYTES = st.one_of(
    st.binary(max_size=300),
    st.builds(
        _mutated_workbook,
        st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
        st.integers(0, 20),
    ),
    st.integers(0, len(_WORKBOOK)).map(lambda size: _WORKBOOK[:size]),
)


@_FUZZ
@given(_XLSX_BYTES)
def test_xlsx_never_raises(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "f.xlsx"
        path.write_bytes(content)
        _check_records(read_xlsx(path))
