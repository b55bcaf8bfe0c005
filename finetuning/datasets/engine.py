"""Validate a training file: read it once, check and count in parallel, merge, estimate.

Tokenizing dominates the cost and tiktoken threads did not scale here, so big files are split
across worker processes; small files are done in-process, where starting workers would cost more
than it saves.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path

from finetuning.datasets.analysis import (
    AnalysisOptions,
    JsonlPart,
    PartResult,
    RecordPart,
    analyze_part,
    iter_parts_records,
    worker_count,
)
from finetuning.datasets.estimate import estimate
from finetuning.datasets.formats import DatasetFormat, detect_format
from finetuning.datasets.models import ModelCatalog, ModelSpec, default_catalog
from finetuning.datasets.report import TokenStats, ValidationReport
from finetuning.datasets.sources import (
    SourceFormat,
    file_sha256,
    first_jsonl_example,
    iter_jsonl_parts,
    sniff_source_format,
)
from finetuning.datasets.summary import DatasetSummary
from finetuning.datasets.tabular import SourceRecord, read_delimited, read_json_document, read_xlsx
from finetuning.datasets.tokenizer import get_encoding

DEFAULT_CHAT_MODEL = "gpt-4o-mini-2024-07-18"
DEFAULT_LEGACY_MODEL = "babbage-002"
PARALLEL_MIN_BYTES = 4 << 20
"""Below this, one process is faster than starting workers."""
RECORDS_PER_PART = 2000

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) as parts complete."""


@dataclass(frozen=True)
class ValidationSettings:
    """How to validate: which model to estimate for, and how to run."""

    model: str | None = None
    default_model: str = DEFAULT_CHAT_MODEL
    epochs: int | None = None
    workers: int = 0
    catalog: ModelCatalog | None = None
    normalized_output: Path | None = None


def _read_records(path: Path, source: SourceFormat) -> Iterator[SourceRecord]:
    if source is SourceFormat.CSV:
        return read_delimited(path, ",")
    if source is SourceFormat.TSV:
        return read_delimited(path, "\t")
    if source is SourceFormat.XLSX:
        return read_xlsx(path)
    return read_json_document(path)


def _choose_model(
    settings: ValidationSettings, catalog: ModelCatalog, first: object | None
) -> ModelSpec:
    """The model named, else the default for the file's format (legacy data, legacy model)."""
    if settings.model:
        return catalog.resolve(settings.model)
    shape = detect_format(first) if isinstance(first, dict) else None
    if shape is DatasetFormat.PROMPT_COMPLETION:
        return catalog.resolve(DEFAULT_LEGACY_MODEL)
    return catalog.resolve(settings.default_model)


def _in_order(
    executor: ProcessPoolExecutor,
    work: Callable[[JsonlPart | RecordPart], PartResult],
    parts: Iterable[JsonlPart | RecordPart],
    in_flight: int,
) -> Iterator[PartResult]:
    """Results in file order with at most `in_flight` parts submitted: bounded memory.

    `Executor.map` would read the whole file ahead into its queue.
    """
    pending: deque[Future[PartResult]] = deque()
    for part in parts:
        pending.append(executor.submit(work, part))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _process_context() -> multiprocessing.context.BaseContext:
    """fork shares the loaded vocabulary for free, but is only safe with no other threads."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver")


def validate_file(
    path: Path, settings: ValidationSettings | None = None, progress: Progress | None = None
) -> ValidationReport:
    """Check a training file and estimate its cost. Bad content is reported, never raised.

    Raises `UnknownModelError` for a model we know nothing about and `OSError` when the file
    cannot be opened; everything wrong *inside* the file becomes a finding.
    """
    settings = settings or ValidationSettings()
    started = time.perf_counter()
    catalog = settings.catalog or default_catalog()
    total_bytes = path.stat().st_size
    source = sniff_source_format(path)
    digest = hashlib.sha256()
    with ExitStack() as stack:
        if source is SourceFormat.JSONL:
            model = _choose_model(settings, catalog, first_jsonl_example(path))
            file = stack.enter_context(path.open("rb"))
            parts: Iterable[JsonlPart | RecordPart] = iter_jsonl_parts(file, digest)
        else:
            records = _read_records(path, source)
            first = next(records, None)
            model = _choose_model(settings, catalog, first.value if first is not None else None)
            head = [first] if first is not None else []
            parts = iter_parts_records(chain(head, records), RECORDS_PER_PART)
        options = AnalysisOptions(
            encoding=model.encoding,
            max_tokens_per_example=model.max_tokens_per_example,
            keep_normalized=settings.normalized_output is not None,
        )
        get_encoding(options.encoding)
        work = partial(analyze_part, options)
        workers = worker_count(settings.workers)
        results: Iterable[PartResult]
        if workers > 1 and total_bytes >= PARALLEL_MIN_BYTES:
            executor = stack.enter_context(
                ProcessPoolExecutor(max_workers=workers, mp_context=_process_context())
            )
            results = _in_order(executor, work, parts, in_flight=workers * 3)
        else:
            results = map(work, parts)
        writer = (
            stack.enter_context(_AtomicWriter(settings.normalized_output))
            if settings.normalized_output is not None
            else None
        )
        summary = DatasetSummary()
        for result in results:
            summary.add(result)
            if writer is not None and result.normalized:
                writer.write_lines(result.normalized)
            if progress is not None and source is SourceFormat.JSONL:
                progress(min(summary.bytes_read, total_bytes), total_bytes)
        if progress is not None and source is not SourceFormat.JSONL:
            progress(total_bytes, total_bytes)  # other readers do not count bytes as they go
    summary.finish(model)
    sha256 = digest.hexdigest() if source is SourceFormat.JSONL else file_sha256(path)
    counted = max(summary.counted, 1)
    return ValidationReport(
        file_name=path.name,
        file_bytes=total_bytes,
        sha256=sha256,
        source_format=source.value,
        format=summary.format,
        examples=summary.examples,
        findings=summary.findings.findings(),
        tokens=TokenStats(
            encoding=model.encoding,
            total=summary.tokens_total,
            max_example=summary.tokens_max,
            max_example_line=summary.tokens_max_line,
            min_example=summary.tokens_min or 0,
            mean_example=summary.tokens_total / counted,
            billed_per_epoch=summary.tokens_billed,
        ),
        estimate=estimate(model, summary.counted, summary.tokens_billed, settings.epochs),
        prices_read_on=catalog.read_on,
        seconds=time.perf_counter() - started,
        completion_style=summary.completion_style,
    )


class _AtomicWriter:
    """Writes the normalized JSONL beside its target and renames it into place at the end,
    so a crash never leaves a half-written file where a whole one is expected."""

    def __init__(self, target: Path) -> None:
        self.target = target
        # Unique per writer: two threads may normalize the same bytes to the same target at once.
        self.temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")

    def __enter__(self) -> _AtomicWriter:
        self.file = self.temporary.open("wb")
        return self

    def write_lines(self, lines: list[bytes]) -> None:
        for line in lines:
            self.file.write(line)
            self.file.write(b"\n")

    def __exit__(self, *exc_info: object) -> None:
        self.file.close()
        if exc_info[0] is None:
            self.temporary.replace(self.target)
        else:
            self.temporary.unlink(missing_ok=True)
