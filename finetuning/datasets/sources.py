"""Which reader a file needs, and the JSONL fast path: whole lines in blocks, read once.

JSONL is by far the common case and the one that must be fast: it is cut into blocks of whole
lines that worker processes parse, so the reading process never parses JSON itself. The other
inputs go through `tabular.py`'s readers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from finetuning.datasets.analysis import JsonlPart, parse_json

PART_BYTES = 1 << 20
"""Bytes per part: large enough that pickling and scheduling are noise, small enough that a few
parts in flight per worker keep memory bounded."""

_SNIFF_BYTES = 1 << 16
_ZIP_MAGIC = b"PK\x03\x04"


class SourceFormat(StrEnum):
    """How the examples are written down in the file."""

    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"
    TSV = "tsv"
    XLSX = "xlsx"


DATASET_EXTENSIONS = frozenset({".jsonl", ".json", ".csv", ".tsv", ".xlsx"})


def sniff_source_format(path: Path) -> SourceFormat:
    """Decide from the name and the first bytes; content wins where the name would mislead.

    A `.json` file is often JSONL in disguise, and a spreadsheet keeps its zip signature whatever
    it is called.
    """
    with path.open("rb") as file:
        head = file.read(_SNIFF_BYTES)
    suffix = path.suffix.lower()
    if head.startswith(_ZIP_MAGIC) or suffix == ".xlsx":
        return SourceFormat.XLSX
    if suffix == ".csv":
        return SourceFormat.CSV
    if suffix == ".tsv":
        return SourceFormat.TSV
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"[") or (suffix == ".json" and text.startswith(b"{")):
        first_line, _, rest = text.partition(b"\n")
        _, problem = parse_json(first_line.rstrip(b"\r"))
        # A whole value on line 1 with more lines after it is JSONL (perhaps with a bad first
        # line); anything else is one JSON document, such as a pretty-printed array.
        return SourceFormat.JSONL if problem is None and rest.strip() else SourceFormat.JSON
    return SourceFormat.JSONL


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes: what makes a dataset the same dataset."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def first_jsonl_example(path: Path) -> object | None:
    """The first line that parses, to pick a default model before counting starts."""
    with path.open("rb") as file:
        for number, raw in enumerate(file):
            if number > 1000:
                break
            line = raw.removeprefix(b"\xef\xbb\xbf").strip() if number == 0 else raw.strip()
            if line:
                value, problem = parse_json(line)
                if problem is None:
                    return value
    return None


def iter_jsonl_parts(
    file: BinaryIO, digest: hashlib._Hash, part_bytes: int = PART_BYTES
) -> Iterator[JsonlPart]:
    """Cut the file into parts of whole lines, hashing the bytes on the way (one read)."""
    line = 1
    offset = 0
    carry = b""
    while True:
        block = file.read(part_bytes)
        if not block:
            break
        digest.update(block)
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        whole, carry = data[:cut], data[cut:]
        yield JsonlPart(first_line=line, offset=offset, data=whole)
        line += whole.count(b"\n")
        offset += len(whole)
    if carry:
        yield JsonlPart(first_line=line, offset=offset, data=carry)
