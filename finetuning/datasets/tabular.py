"""Turn the inputs that are not JSONL (CSV, TSV, XLSX, a JSON document) into a stream of examples.

People keep training data in spreadsheets, and the legacy `prepare_data` tool accepted them, so
the engine does too. Every reader here yields `SourceRecord`s carrying the line number the user
will look for in their own editor, and never raises for bad input: a problem becomes a
`SourceError` on the line it was found, so the engine can report it beside every other finding.

One row (or array element) is one example. Headers name the keys; the columns that hold JSON in
the API's formats (`messages`, `tools`, ...) are parsed, `prompt` and `completion` stay text.
JSON values are decoded the way the JSONL path decodes a line, so a value means the same whatever
its container: orjson first, then the standard `json` (which also holds integers over 64 bits and
words the errors users search for), with NaN and Infinity refused.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    import openpyxl


@dataclass(frozen=True, slots=True)
class SourceError:
    """A record that could not be read; the engine turns it into a finding with the line."""

    code: str  # "invalid_encoding" | "invalid_json" | "unreadable_file" | "unsafe_file"
    detail: str  # one sentence for a human, e.g. "invalid UTF-8 at byte offset 1234"


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One example, or the reason it could not be read, at the line the user will look at."""

    line: int  # 1-based: CSV/TSV the physical line the row starts on; XLSX the sheet row;
    # JSON the line where the element starts
    value: object | SourceError


TEXT_COLUMNS = frozenset({"prompt", "completion"})
"""Kept as text, even when empty, so the checks can say "empty completion" rather than
"missing completion"."""

JSON_COLUMNS = frozenset(
    {
        "messages",
        "tools",
        "functions",
        "input",
        "preferred_output",
        "non_preferred_output",
        "parallel_tool_calls",
    }
)
"""Columns whose cells hold JSON in OpenAI's training formats; they are parsed."""

MAX_FIELD_CHARS = 64 << 20
"""csv's default limit (128 KiB) is smaller than one long chat transcript."""

MAX_LINE_BYTES = 64 << 20
"""A physical line longer than this is refused instead of buffered: it keeps memory bounded when
a file has no line breaks at all."""

MAX_SHEET_ROWS = 1_048_576
"""Excel's own limit; a forged row number beyond it must not make us count to a billion."""

PREFERRED_SHEETS = ("train", "data")
"""Sheet names (compared case-insensitively) read in preference to the first sheet, so a
workbook can carry an instructions sheet in front of its data."""

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF16_ERROR = SourceError("invalid_encoding", "the file is UTF-16; save it as UTF-8")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_RATIO_CHECK_FROM_BYTES = 1 << 20
"""Small members compress extremely well when they are repetitive XML, and cannot hurt anyway."""
_MAX_COMPRESSION_RATIO = 100
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")


# --- Shared: cells to an example ---------------------------------------------------------------


def _cell_text(cell: object) -> str:
    """A cell as the text a user sees in the spreadsheet (Excel writes booleans as TRUE/FALSE)."""
    if isinstance(cell, str):
        return cell
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    return str(cell)


def _is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _column_keys(header: Sequence[object]) -> list[str]:
    """Header cells to keys; an unnamed or repeated column keeps its data under a visible name
    (e.g. "column 4") so the engine warns about it instead of the data vanishing."""
    keys: list[str] = []
    for number, cell in enumerate(header, start=1):
        name = _cell_text(cell).strip().lower()
        if not name:
            name = f"column {number}"
        elif name in keys:
            name = f"{name} (column {number})"
        keys.append(name)
    return keys


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


_JSON_SCANNER = json.JSONDecoder(parse_constant=_reject_constant)


def _json_value(text: str) -> object:
    """orjson when it can; else json, whose exceptions say what is wrong and where."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text, parse_constant=_reject_constant)


def _where(error: json.JSONDecodeError) -> str:
    if error.lineno == 1:
        return f"at column {error.colno}"
    return f"at line {error.lineno} column {error.colno}"


def _json_cell(key: str, cell: object) -> object:
    """A JSON column's value, or a SourceError; spreadsheets already type booleans and numbers."""
    if isinstance(cell, bool | int | float):
        return cell
    try:
        return _json_value(_cell_text(cell))
    except json.JSONDecodeError as error:
        detail = f"{error.msg} {_where(error)}"
    except RecursionError:
        detail = "nested too deeply"
    except ValueError as error:  # NaN, an integer with thousands of digits
        detail = str(error)
    return SourceError("invalid_json", f"column '{key}': {detail}")


def _example(
    keys: Sequence[str], cells: Sequence[object]
) -> dict[str, object] | SourceError | None:
    """One row as an example, a SourceError for its first bad JSON cell, or None if blank."""
    if len(cells) > len(keys):
        extra = range(len(keys) + 1, len(cells) + 1)
        keys = [*keys, *(f"column {number}" for number in extra)]
    example: dict[str, object] = {}
    has_content = False
    for key, cell in zip_longest(keys, cells):
        blank = _is_blank(cell)
        has_content = has_content or not blank
        if key in TEXT_COLUMNS:
            example[key] = _cell_text(cell)
        elif blank:
            continue
        elif key in JSON_COLUMNS:
            value = _json_cell(key, cell)
            if isinstance(value, SourceError):
                return value
            example[key] = value
        else:
            example[key] = _cell_text(cell)
    return example if has_content else None


_Row = tuple[int, Sequence[object], SourceRecord | None]
"""(line, cells, problem): a row whose problem is set yields the problem instead of an example,
though its cells may still serve as the header."""


def _records_from_rows(rows: Iterable[_Row]) -> Iterator[SourceRecord]:
    """Numbered rows to records: the first non-blank row is the header."""
    keys: list[str] | None = None
    for line, cells, problem in rows:
        if problem is not None:
            yield problem
        if keys is None:
            if not all(_is_blank(cell) for cell in cells):
                keys = _column_keys(cells)
            continue
        if problem is None:
            value = _example(keys, cells)
            if value is not None:
                yield SourceRecord(line, value)


def _is_utf16(start: bytes) -> bool:
    return start.startswith(_UTF16_BOMS)


# --- CSV / TSV ---------------------------------------------------------------------------------


class _DecodedLines:
    """Feeds csv.reader one decoded physical line at a time, remembering what went wrong.

    Decoding per line (never across one) is exact for UTF-8, whose multi-byte sequences never
    contain CR or LF; it lets an invalid byte be reported with its file offset and line, while a
    replacement character keeps csv's state intact so the rows after it are still read.
    Lines end like with `open(newline="")` (CRLF, LF or a lone CR) and keep their terminators, as
    csv requires for quoted cells that span lines. The C `readline` does the splitting: this runs
    once per line, so it must stay cheap.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines_read = 0
        self.bad_byte: tuple[int, int] | None = None  # (line, offset) of the first since reset
        self.too_long_line: int | None = None
        self._stream = stream
        self._offset = 0  # of the next line in the file
        self._after_lone_cr: list[bytes] = []  # the rest of a line split at lone CRs, reversed
        if stream.read(len(_UTF8_BOM)) == _UTF8_BOM:
            self._offset = len(_UTF8_BOM)
        else:
            stream.seek(0)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._after_lone_cr:
            raw = self._after_lone_cr.pop()
        else:
            raw = self._stream.readline(MAX_LINE_BYTES + 1)
            if len(raw) > MAX_LINE_BYTES:
                self.too_long_line = self.lines_read + 1
                raise StopIteration
            if not raw:
                raise StopIteration
            if b"\r" in raw:
                pieces = raw.splitlines(keepends=True)  # on bytes: CRLF, LF and CR only
                if len(pieces) > 1:
                    raw = pieces[0]
                    self._after_lone_cr = pieces[:0:-1]
        offset = self._offset
        self._offset += len(raw)
        self.lines_read += 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            if self.bad_byte is None:
                self.bad_byte = (self.lines_read, offset + error.start)
            return raw.decode("utf-8", errors="replace")


def read_delimited(path: Path, delimiter: str) -> Iterator[SourceRecord]:
    """Stream the rows of a CSV (`","`) or TSV (`"\\t"`) file with a header row.

    Memory stays bounded by the longest row. A row with invalid UTF-8 becomes an
    `invalid_encoding` record on the line of the first bad byte and reading goes on; a row csv
    cannot parse (a cell over `MAX_FIELD_CHARS`, a line over `MAX_LINE_BYTES`) ends the stream
    with an `unreadable_file` record, since csv cannot find the next row start reliably.
    """
    if delimiter not in {",", "\t"}:
        raise ValueError(f"delimiter must be ',' or a tab, not {delimiter!r}")
    if csv.field_size_limit() < MAX_FIELD_CHARS:
        csv.field_size_limit(MAX_FIELD_CHARS)
    with path.open("rb") as stream:
        if _is_utf16(stream.read(2)):
            yield SourceRecord(1, _UTF16_ERROR)
            return
        stream.seek(0)
        lines = _DecodedLines(stream)
        yield from _records_from_rows(_csv_rows(lines, delimiter))


def _csv_rows(lines: _DecodedLines, delimiter: str) -> Iterator[_Row]:
    """csv rows numbered by the physical line they start on (csv yields [] for a blank line,
    so the next row always starts on the line after the last one read)."""
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        start = lines.lines_read + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            detail = f"row starting on line {start}: {error}"
            yield start, (), SourceRecord(start, SourceError("unreadable_file", detail))
            return
        if lines.too_long_line is not None:
            break  # csv saw the refused line as the end of the file: this row is cut short
        problem = None
        if lines.bad_byte is not None:
            line, offset = lines.bad_byte
            lines.bad_byte = None
            detail = f"invalid UTF-8 at byte offset {offset}"
            problem = SourceRecord(line, SourceError("invalid_encoding", detail))
        yield start, cells, problem
    if lines.too_long_line is not None:
        line = lines.too_long_line
        detail = f"line {line} is longer than {MAX_LINE_BYTES >> 20} MiB"
        yield line, (), SourceRecord(line, SourceError("unreadable_file", detail))


# --- XLSX --------------------------------------------------------------------------------------


def read_xlsx(path: Path, max_uncompressed_bytes: int = 1 << 30) -> Iterator[SourceRecord]:
    """Stream the rows of a workbook's training sheet; line numbers are sheet row numbers.

    The sheet is the first one named "train", else "data" (any case), else the first worksheet.
    Formulas give their cached values. An XLSX is a zip archive, so its declared sizes are
    checked before openpyxl opens it: zipfile never inflates a member past its declared size,
    which makes the sum a true bound on what reading can unpack.
    """
    with path.open("rb") as file:
        refusal = _archive_refusal(file, max_uncompressed_bytes)
        if refusal is not None:
            yield SourceRecord(1, refusal)
            return
        file.seek(0)
        yield from _sheet_records(file)


def _archive_refusal(file: IO[bytes], max_uncompressed_bytes: int) -> SourceError | None:
    """Why the file must not be opened as a workbook, or None when it may be."""
    start = file.read(len(_OLE2_MAGIC))
    if start == _OLE2_MAGIC:
        detail = "this is an old .xls or a password-protected workbook; save it as .xlsx"
        return SourceError("unreadable_file", detail)
    if _is_utf16(start) or not start.startswith(b"PK"):
        return SourceError("unreadable_file", "this is not an .xlsx workbook")
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except Exception as error:  # zipfile raises several kinds on damaged archives
        return SourceError("unreadable_file", f"the workbook is damaged ({error})")
    total = sum(member.file_size for member in members)
    if total > max_uncompressed_bytes:
        detail = (
            f"the workbook would unpack to {total:,} bytes, "
            f"over the limit of {max_uncompressed_bytes:,}"
        )
        return SourceError("unsafe_file", detail)
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= _RATIO_CHECK_FROM_BYTES and ratio > _MAX_COMPRESSION_RATIO:
            detail = f"the workbook part {member.filename!r} is compressed {ratio:,.0f} to 1"
            return SourceError("unsafe_file", detail)
    return None


def _sheet_records(file: IO[bytes]) -> Iterator[SourceRecord]:
    # Imported here: openpyxl costs a tenth of a second at start, paid by every JSONL check and
    # every worker process otherwise.
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except Exception as error:  # openpyxl reports damage with many exception types
        yield SourceRecord(1, SourceError("unreadable_file", f"cannot open the workbook ({error})"))
        return
    try:
        yield from _records_from_rows(_sheet_rows(workbook))
    finally:
        workbook.close()


def _sheet_rows(workbook: openpyxl.Workbook) -> Iterator[_Row]:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    line = 0
    try:
        by_name = {sheet.title.strip().lower(): sheet for sheet in workbook.worksheets}
        preferred = [by_name[name] for name in PREFERRED_SHEETS if name in by_name]
        sheets = preferred or workbook.worksheets
        if not sheets:
            yield (
                1,
                (),
                SourceRecord(1, SourceError("unreadable_file", "the workbook has no sheet")),
            )
            return
        sheet = sheets[0]
        if isinstance(sheet, ReadOnlyWorksheet):
            sheet.reset_dimensions()  # the stored size is often wrong and would cut rows off
        rows = sheet.iter_rows(max_row=MAX_SHEET_ROWS, values_only=True)
        for line, cells in enumerate(rows, start=1):  # openpyxl fills skipped rows in
            yield line, cells, None
    except Exception as error:  # openpyxl reports damage with many exception types
        detail = f"cannot read sheet row {line + 1} ({error})"
        yield line + 1, (), SourceRecord(line + 1, SourceError("unreadable_file", detail))


# --- JSON document -----------------------------------------------------------------------------


def read_json_document(path: Path) -> Iterator[SourceRecord]:
    """The elements of a top-level JSON array, each on the line where it starts; any other
    top-level value is one record.

    The whole file is read into memory: a JSON document has no line structure to stream by, and
    such files are small in practice (large datasets arrive as JSONL). Elements before a syntax
    error are still yielded; the error ends the stream, since nothing after it can be located.
    """
    data = path.read_bytes()
    if _is_utf16(data):
        yield SourceRecord(1, _UTF16_ERROR)
        return
    skipped = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = skipped + error.start
        line = data.count(b"\n", 0, offset) + 1
        detail = f"invalid UTF-8 at byte offset {offset}"
        yield SourceRecord(line, SourceError("invalid_encoding", detail))
        return
    yield from _json_elements(text)


def _skip_whitespace(text: str, position: int) -> int:
    match = _JSON_WHITESPACE.match(text, position)
    return match.end() if match else position


def _json_elements(text: str) -> Iterator[SourceRecord]:
    position = _skip_whitespace(text, 0)
    if position == len(text):
        return
    lines = _LineCounter(text)
    if not text.startswith("[", position):
        yield from _json_tail(text, position, lines, in_array=False)
        return
    position = _skip_whitespace(text, position + 1)
    if text.startswith("]", position):
        yield from _json_end(text, position + 1)
        return
    yield from _json_tail(text, position, lines, in_array=True)


def _json_tail(
    text: str, position: int, lines: _LineCounter, *, in_array: bool
) -> Iterator[SourceRecord]:
    """Values from `position` on: every element of the array, or the one top-level value."""
    while True:
        line = lines.line_at(position)
        try:
            value, position = _decode_value(text, position)
        except json.JSONDecodeError as error:
            yield _json_error(error)
            return
        except RecursionError:
            detail = f"line {line}: the value is nested too deeply"
            yield SourceRecord(line, SourceError("invalid_json", detail))
            return
        except ValueError as error:  # NaN, an integer with thousands of digits
            yield SourceRecord(line, SourceError("invalid_json", f"line {line}: {error}"))
            return
        yield SourceRecord(line, value)
        position = _skip_whitespace(text, position)
        if not in_array:
            yield from _json_end(text, position)
            return
        if text.startswith(",", position):
            position = _skip_whitespace(text, position + 1)
        elif text.startswith("]", position):
            yield from _json_end(text, position + 1)
            return
        else:
            yield _json_error(json.JSONDecodeError("Expecting ',' delimiter", text, position))
            return


def _decode_value(text: str, position: int) -> tuple[object, int]:
    """json finds where the value ends; orjson decodes it when it can, as the JSONL path does."""
    value, end = _JSON_SCANNER.raw_decode(text, position)
    try:
        return orjson.loads(text[position:end]), end
    except orjson.JSONDecodeError:
        return value, end


def _json_end(text: str, position: int) -> Iterator[SourceRecord]:
    """Nothing but whitespace may follow the document."""
    position = _skip_whitespace(text, position)
    if position < len(text):
        yield _json_error(json.JSONDecodeError("Extra data", text, position))


def _json_error(error: json.JSONDecodeError) -> SourceRecord:
    detail = f"line {error.lineno} column {error.colno}: {error.msg}"
    return SourceRecord(error.lineno, SourceError("invalid_json", detail))


class _LineCounter:
    """Line numbers of increasing positions, counting each stretch of text once."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._position = 0
        self._line = 1

    def line_at(self, position: int) -> int:
        self._line += self._text.count("\n", self._position, position)
        self._position = position
        return self._line
