"""Whatever a file holds, validation reports it: it never raises, and only with known codes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from finetuning.datasets.findings import KINDS, Severity
from finetuning.datasets.report import ValidationReport
from tests.datasets.builders import validate

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(report: ValidationReport) -> None:
    for found in report.findings:
        assert found.code in KINDS
        assert found.kind is KINDS[found.code]
        assert found.count >= max(1, len(found.lines))
        assert len(found.details) >= len(found.lines)
        assert all(line >= 1 for line in found.lines)
    assert report.valid is not any(f.severity is Severity.ERROR for f in report.findings)
    assert report.examples >= 0
    assert report.tokens.billed_per_epoch <= report.tokens.total
    orjson.dumps(report.to_dict())  # the --json form always serializes


def _validate_bytes(content: bytes, name: str) -> ValidationReport:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return validate(path)


LINE_PIECES = st.sampled_from(
    [
        *(b"\n", b"\r\n", b"\xef\xbb\xbf", b"{", b"}", b"[", b"]", b'"', b",", b":", b"\xff", b" "),
        *(b'{"messages": [', b'{"role": "assistant", "content": "x"}', b'"prompt"', b"NaN"),
    ]
)
BYTES = st.one_of(
    st.binary(max_size=400),
    st.lists(st.one_of(LINE_PIECES, st.binary(max_size=8)), max_size=60).map(b"".join),
)


@SETTINGS
@given(content=BYTES, name=st.sampled_from(["d.jsonl", "d.json", "d.csv", "d.tsv", "d.xlsx"]))
def test_arbitrary_bytes_are_reported_never_raised(content: bytes, name: str) -> None:
    _check(_validate_bytes(content, name))


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.text(st.characters(categories=["Cs", "Lu", "Zs"]), max_size=3),  # lone surrogates too
    st.sampled_from(["system", "user", "assistant", "tool", "developer", "function", ""]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(
    [
        "role",
        "content",
        "name",
        "weight",
        "tool_calls",
        "tool_call_id",
        "function_call",
        "type",
        "function",
        "arguments",
        "id",
        "text",
    ]
)
MESSAGE = st.dictionaries(KEYS, JSON_VALUES, max_size=5)
TOP_KEYS = st.sampled_from(
    [
        "messages",
        "tools",
        "functions",
        "parallel_tool_calls",
        "input",
        "preferred_output",
        "non_preferred_output",
        "prompt",
        "completion",
    ]
)
EXAMPLE_VALUE = st.one_of(st.lists(MESSAGE, max_size=4), JSON_VALUES, MESSAGE)
EXAMPLES = st.one_of(
    JSON_VALUES,
    st.dictionaries(TOP_KEYS, EXAMPLE_VALUE, max_size=4),
    st.fixed_dictionaries({"messages": st.lists(MESSAGE, max_size=5)}),
    st.fixed_dictionaries(
        {"input": st.fixed_dictionaries({"messages": st.lists(MESSAGE, max_size=3)})},
        optional={
            "preferred_output": st.lists(MESSAGE, max_size=2),
            "non_preferred_output": st.lists(MESSAGE, max_size=2),
        },
    ),
)


_ASSISTANT = {"role": "assistant", "content": "ok"}


@SETTINGS
@given(
    values=st.lists(EXAMPLES, min_size=1, max_size=6),
    as_array=st.booleans(),
)
# Found by this test; kept so they are checked first, on every run.
@example(values=[{"messages": [{"role": [], "content": "x"}, _ASSISTANT]}], as_array=False)
@example(
    values=[{"messages": [{"role": "user", "content": {"a": "\ud800"}}, _ASSISTANT]}],
    as_array=False,
)
@example(
    values=[{"messages": [{"role": "user", "content": "\ud800", "name": {"n": -(2**63) - 1}}]}],
    as_array=False,
)
@example(values=[{"messages": [{"role": "\ud800"}]}], as_array=False)
def test_arbitrary_json_examples_are_reported_never_raised(
    values: list[object], as_array: bool
) -> None:
    if as_array:
        content, name = json.dumps(values, indent=1).encode(), "d.json"
    else:
        content, name = b"\n".join(json.dumps(v).encode() for v in values), "d.jsonl"
    report = _validate_bytes(content, name)
    _check(report)
    if not as_array and not isinstance(values[0], list):  # "[..." first reads as a JSON array
        assert report.examples == len(values)
