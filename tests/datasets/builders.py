"""Small training files for the dataset-engine tests: one valid example per line, easy to mutate.

Every test starts from a file that is valid and changes one line, so a case reads as the one
difference that matters.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import openpyxl

from finetuning.datasets.engine import ValidationSettings, validate_file
from finetuning.datasets.findings import Finding
from finetuning.datasets.report import ValidationReport

Line = object
"""A line of a JSONL file: a JSON value (dumped as one line) or raw bytes (written as they are)."""

Maker = Callable[[Path], Path]
"""Writes a file into the given folder and returns its path."""

SYSTEM: dict[str, object] = {"role": "system", "content": "You answer briefly."}


def user(i: int, **extra: object) -> dict[str, object]:
    return {"role": "user", "content": f"Question {i}?", **extra}


def assistant(i: int, **extra: object) -> dict[str, object]:
    return {"role": "assistant", "content": f"Answer {i}.", **extra}


def example(*messages: object, **keys: object) -> dict[str, object]:
    return {"messages": list(messages), **keys}


def chat(i: int) -> dict[str, object]:
    """The valid chat example written on line `i`."""
    return example(SYSTEM, user(i), assistant(i))


def preference(i: int) -> dict[str, object]:
    """The valid preference (DPO) example written on line `i`."""
    return {
        "input": {"messages": [SYSTEM, user(i)]},
        "preferred_output": [{"role": "assistant", "content": f"Good answer {i}."}],
        "non_preferred_output": [{"role": "assistant", "content": f"Bad answer {i}."}],
    }


SEPARATOR = "\n\n###\n\n"
STOP = " END"


def prompt_completion(i: int) -> dict[str, object]:
    """The valid legacy example written on line `i`: common separator, leading space, stop."""
    return {"prompt": f"Question {i}?{SEPARATOR}", "completion": f" Answer {i}.{STOP}"}


WEATHER_TOOL: dict[str, object] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def tool_call_example(i: int, arguments: str = '{"city": "Paris"}', **keys: object) -> object:
    """A chat example whose assistant calls `get_weather` and then answers."""
    call = {
        "id": f"call_{i}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }
    return example(
        SYSTEM,
        user(i),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": f"call_{i}", "content": "sunny"},
        assistant(i),
        **keys,
    )


def function_call_example(i: int, **keys: object) -> object:
    """A chat example in the legacy functions / function_call form."""
    return example(
        SYSTEM,
        user(i),
        {"role": "assistant", "function_call": {"name": "get_weather", "arguments": "{}"}},
        {"role": "function", "name": "get_weather", "content": "sunny"},
        assistant(i),
        **keys,
    )


def encode_line(line: Line) -> bytes:
    return line if isinstance(line, bytes) else json.dumps(line).encode()


def jsonl_bytes(lines: Sequence[Line], newline: bytes = b"\n") -> bytes:
    return b"".join(encode_line(line) + newline for line in lines)


def examples(
    build: Callable[[int], object], count: int = 12, changes: Mapping[int, Line] | None = None
) -> list[Line]:
    """`count` lines of `build(line)`, with the lines named in `changes` replaced (1-based)."""
    changes = changes or {}
    return [changes.get(line, build(line)) for line in range(1, count + 1)]


def chats(count: int = 12, **changes: Line) -> list[Line]:
    """Valid chat lines; `changes` maps `line5=...` to a replacement for that line."""
    return examples(chat, count, {int(key.removeprefix("line")): v for key, v in changes.items()})


def write(folder: Path, content: bytes, name: str = "data.jsonl") -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def jsonl_file(lines: Sequence[Line], name: str = "data.jsonl", tail: bytes = b"") -> Maker:
    """A maker for a JSONL file of these lines (plus raw `tail` bytes)."""
    return lambda folder: write(folder, jsonl_bytes(lines) + tail, name)


def raw_file(content: bytes, name: str = "data.jsonl") -> Maker:
    return lambda folder: write(folder, content, name)


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def chat_xlsx(count: int = 12) -> Maker:
    """A workbook with a `messages` column holding each valid chat example's messages."""

    def make(folder: Path) -> Path:
        rows = [["messages"]] + [[json.dumps(chat(i)["messages"])] for i in range(1, count + 1)]
        return write_xlsx(folder / "data.xlsx", rows)

    return make


def zip_bomb(folder: Path) -> Path:
    """A zip named like a workbook whose one part inflates 1,000 to 1."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (4 << 20))
    return write(folder, buffer.getvalue(), "data.xlsx")


def validate(path: Path, **settings: object) -> ValidationReport:
    """Validate in-process (one worker) unless the test asks otherwise."""
    options: dict[str, object] = {"workers": 1} | settings
    return validate_file(path, ValidationSettings(**options))  # type: ignore[arg-type]


def finding(report: ValidationReport, code: str) -> Finding | None:
    matches = [f for f in report.findings if f.code == code]
    assert len(matches) <= 1, f"{code} reported more than once"
    return matches[0] if matches else None


def codes(report: ValidationReport) -> set[str]:
    return {f.code for f in report.findings}
