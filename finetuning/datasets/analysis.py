"""The work done on one part of a file: parse, check and count each example.

A part is a block of whole JSONL lines (or records already read from CSV/XLSX/JSON). It runs in a
worker process for big files, so its input and output are small picklable values, and everything
that needs the whole file (duplicates, mixed formats, common suffixes) is left as compact
per-part summaries for `summary.py` to merge in file order (the legacy format's endings and
distinct completions in a `StyleTally`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from finetuning.datasets.completion_style import StyleTally
from finetuning.datasets.counting import TokenCounter
from finetuning.datasets.examples import (
    chat_example,
    preference_example,
    prompt_completion_example,
)
from finetuning.datasets.findings import LINES_KEPT, FindingCollector
from finetuning.datasets.formats import DatasetFormat, detect_format
from finetuning.datasets.tabular import SourceError, SourceRecord
from finetuning.datasets.tokenizer import get_encoding

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """What every part needs to know about the run."""

    encoding: str
    max_tokens_per_example: int
    keep_normalized: bool = False


@dataclass(frozen=True, slots=True)
class JsonlPart:
    """Whole lines of a JSONL file, with where they start (for line numbers and byte offsets)."""

    first_line: int
    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class RecordPart:
    """Examples already read by a tabular or JSON-document reader."""

    records: list[SourceRecord]


@dataclass(slots=True)
class LineSample:
    """The first few line numbers of something and how many there are in all."""

    lines: list[int] = field(default_factory=list)
    count: int = 0

    def add(self, line: int) -> None:
        self.count += 1
        if len(self.lines) < LINES_KEPT:
            self.lines.append(line)

    def extend(self, other: LineSample) -> None:
        self.count += other.count
        self.lines.extend(other.lines[: LINES_KEPT - len(self.lines)])


@dataclass(slots=True)
class PartResult:
    """Everything one part contributes to the report."""

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
    digests: list[tuple[int, int]] = field(default_factory=list)
    legacy: StyleTally = field(default_factory=StyleTally)
    blank_pending: LineSample = field(default_factory=LineSample)
    normalized: list[bytes] | None = None


def _digest(example: object, raw: bytes | None) -> int:
    """A 64-bit fingerprint of the example's content, key order ignored, for duplicates."""
    try:
        canonical = orjson.dumps(example, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        canonical = (
            raw
            if raw is not None
            else json.dumps(example, sort_keys=True).encode("utf-8", "surrogatepass")
        )
    return int.from_bytes(hashlib.blake2b(canonical, digest_size=8).digest(), "little")


def _serialized(value: object) -> bytes:
    """One JSONL line for a record read from another format."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def parse_json(raw: bytes) -> tuple[object, str | None]:
    """Parse one JSON text; on failure say where (line, column) the way json does.

    orjson is the fast path; the standard library gives the precise message (line and column)
    and accepts what orjson refuses but JSON allows, such as escaped lone surrogates.
    """
    try:
        return orjson.loads(raw), None
    except orjson.JSONDecodeError:
        pass
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        return None, f"column {exc.colno}: {exc.msg}"
    except ValueError as exc:
        return None, str(exc)
    except RecursionError:
        return None, "nested too deeply"


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


class Analyzer:
    """Checks and counts examples into a PartResult; one per process, reused across parts."""

    def __init__(self, options: AnalysisOptions) -> None:
        self.options = options
        self.counter = TokenCounter(get_encoding(options.encoding))

    def example(self, result: PartResult, line: int, value: object, raw: bytes | None) -> None:
        """Check and count one parsed example found at `line`."""
        result.examples += 1
        findings = result.findings

        def report(code: str, detail: str) -> None:
            findings.add(code, line, detail)

        if not isinstance(value, dict):
            report("data_type", f"found {type(value).__name__}, expected an object")
            return
        shape = detect_format(value)
        if shape is None:
            report("missing_messages_list", "no messages, input or prompt/completion keys")
            return
        sample = result.formats.get(shape)
        if sample is None:
            sample = result.formats[shape] = LineSample()
        sample.add(line)
        if shape is DatasetFormat.CHAT:
            tokens = chat_example(value, self.counter, report)
        elif shape is DatasetFormat.PREFERENCE:
            tokens = preference_example(value, self.counter, report)
        else:
            tokens, texts = prompt_completion_example(value, self.counter, report)
            if texts is not None:
                result.legacy.add(texts.prompt, texts.completion)
        self._count(result, line, tokens)
        result.digests.append((_digest(value, raw), line))
        if result.normalized is not None:
            result.normalized.append(raw if raw is not None else _serialized(value))

    def _count(self, result: PartResult, line: int, tokens: int) -> None:
        limit = self.options.max_tokens_per_example
        result.counted += 1
        result.tokens_total += tokens
        result.tokens_billed += min(tokens, limit)
        if tokens > result.tokens_max:
            result.tokens_max, result.tokens_max_line = tokens, line
        if result.tokens_min is None or tokens < result.tokens_min:
            result.tokens_min = tokens
        if tokens > limit:
            result.findings.add("example_too_long", line, f"{tokens:,} tokens > {limit:,}")

    def _new_result(self) -> PartResult:
        return PartResult(normalized=[] if self.options.keep_normalized else None)

    def _blank(self, result: PartResult, line: int) -> None:
        result.blank_pending.add(line)

    def _settle_blanks(self, result: PartResult) -> None:
        """Blank lines followed by an example are inside the file: report them."""
        pending = result.blank_pending
        if pending.count:
            result.findings.add_lines("blank_line", pending.lines, pending.count)
            result.blank_pending = LineSample()

    def jsonl(self, part: JsonlPart) -> PartResult:
        """Analyze whole JSONL lines."""
        result = self._new_result()
        result.bytes_read = len(part.data)
        lines = part.data.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        line_number = part.first_line
        offset = part.offset
        for raw in lines:
            start = offset
            offset += len(raw) + 1
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if start == 0 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
                start = len(_BOM)
            if not raw.strip():
                self._blank(result, line_number)
                line_number += 1
                continue
            self._settle_blanks(result)
            value, problem = parse_json(raw)
            if problem is not None:
                result.examples += 1
                code, detail = _bad_line(raw, start, problem)
                result.findings.add(code, line_number, detail)
            else:
                self.example(result, line_number, value, raw)
            line_number += 1
        return result

    def records(self, part: RecordPart) -> PartResult:
        """Analyze records read by a tabular or JSON-document reader."""
        result = self._new_result()
        for record in part.records:
            if isinstance(record.value, SourceError):
                result.examples += record.value.code in ("invalid_json", "invalid_encoding")
                result.findings.add(record.value.code, record.line, record.value.detail)
            else:
                self.example(result, record.line, record.value, None)
        return result


def _bad_line(raw: bytes, start: int, problem: str) -> tuple[str, str]:
    """Tell invalid UTF-8 (with its byte offset in the file) from invalid JSON."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "invalid_encoding", f"invalid UTF-8 at byte offset {start + exc.start}"
    return "invalid_json", problem


_analyzers: dict[AnalysisOptions, Analyzer] = {}


def analyze_part(options: AnalysisOptions, part: JsonlPart | RecordPart) -> PartResult:
    """Entry point of a worker process: analyze one part with this process's analyzer."""
    analyzer = _analyzers.get(options)
    if analyzer is None:
        analyzer = _analyzers[options] = Analyzer(options)
    if isinstance(part, JsonlPart):
        return analyzer.jsonl(part)
    return analyzer.records(part)


def worker_count(requested: int) -> int:
    """Processes to use: as asked, or one per core (tokenizing is CPU-bound)."""
    return requested if requested > 0 else max(1, os.cpu_count() or 1)


def iter_parts_records(records: Iterable[SourceRecord], size: int) -> Iterable[RecordPart]:
    """Group reader records into parts of `size` examples."""
    batch: list[SourceRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield RecordPart(batch)
            batch = []
    if batch:
        yield RecordPart(batch)
