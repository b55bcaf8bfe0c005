"""Every finding code the engine can report: a file that triggers it and a near-twin that does not.

The table is the contract: a new code in `KINDS` without a case here fails
`test_every_code_has_a_trigger_case`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from finetuning.datasets.findings import KINDS, LINES_KEPT
from tests.datasets.builders import (
    SEPARATOR,
    SYSTEM,
    WEATHER_TOOL,
    Maker,
    assistant,
    chat,
    chat_xlsx,
    chats,
    codes,
    example,
    examples,
    finding,
    function_call_example,
    jsonl_bytes,
    jsonl_file,
    preference,
    prompt_completion,
    raw_file,
    tool_call_example,
    user,
    validate,
    write,
    zip_bomb,
)


@dataclass(frozen=True)
class Case:
    """`trigger` reports `code` on `lines` (none for a finding about the whole file); `clean`,
    the same file but for the one thing that matters, does not report it and is valid."""

    id: str
    code: str
    severity: str
    trigger: Maker
    clean: Maker
    lines: list[int] = field(default_factory=list)
    detail: str = ""
    settings: dict[str, object] = field(default_factory=dict)
    clean_settings: dict[str, object] | None = None


def pcs(count: int = 12, **changes: object) -> Maker:
    lines = examples(prompt_completion, count, {int(k[4:]): v for k, v in changes.items()})
    return jsonl_file(lines)


def prefs(count: int = 12, **changes: object) -> Maker:
    return jsonl_file(examples(preference, count, {int(k[4:]): v for k, v in changes.items()}))


CLEAN_CHAT = jsonl_file(chats())
CLEAN_PC = pcs()
CLEAN_PREF = prefs()

_LINE5_UTF8 = json.dumps(
    example(SYSTEM, user(5), assistant(5, content="Answer é.")), ensure_ascii=False
).encode()
_LINE5_BAD_UTF8 = _LINE5_UTF8.replace("é".encode(), b"\xff")
_BAD_BYTE_OFFSET = len(jsonl_bytes(chats(4))) + _LINE5_BAD_UTF8.index(b"\xff")

_NOT_JSON = b'{"messages": [}'


def _json_error_column(text: bytes) -> int:
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return error.colno
    raise AssertionError("expected invalid JSON")


def _reordered(value: object) -> object:
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


def _long_user(words: int) -> object:
    return example(SYSTEM, user(5, content="hello " * words), assistant(5))


_TWO_ASSISTANTS = example(SYSTEM, user(5), assistant(5, weight=0), user(6), assistant(6, weight=1))
_EQUAL_OUTPUTS = preference(5) | {"non_preferred_output": preference(5)["preferred_output"]}

CASES: list[Case] = [
    # Reading the file.
    Case(
        "unreadable_file",
        "unreadable_file",
        "error",
        raw_file(b"this is not a workbook", "data.xlsx"),
        chat_xlsx(),
        lines=[1],
        detail="not an .xlsx workbook",
    ),
    Case(
        "unreadable_file_old_xls",
        "unreadable_file",
        "error",
        raw_file(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "data.xlsx"),
        chat_xlsx(),
        lines=[1],
        detail=".xls",
    ),
    Case(
        "unsafe_file",
        "unsafe_file",
        "error",
        zip_bomb,
        chat_xlsx(),
        lines=[1],
        detail="compressed",
    ),
    Case(
        "invalid_encoding",
        "invalid_encoding",
        "error",
        jsonl_file(chats(line5=_LINE5_BAD_UTF8)),
        jsonl_file(chats(line5=_LINE5_UTF8)),
        lines=[5],
        detail=f"byte offset {_BAD_BYTE_OFFSET}",
    ),
    Case(
        "invalid_json",
        "invalid_json",
        "error",
        jsonl_file(chats(line5=_NOT_JSON)),
        CLEAN_CHAT,
        lines=[5],
        detail=f"column {_json_error_column(_NOT_JSON)}",
    ),
    Case(
        "blank_line",
        "blank_line",
        "warning",
        jsonl_file([*chats(4), b"", *chats(12)[4:]], tail=b"\n"),
        jsonl_file(chats(12), tail=b"\n\n"),
        lines=[5],
    ),
    Case("empty_file", "empty_file", "error", raw_file(b""), CLEAN_CHAT),
    Case("empty_file_only_blanks", "empty_file", "error", raw_file(b"\n \n\r\n\t\n"), CLEAN_CHAT),
    # The cookbook's chat categories.
    Case("data_type", "data_type", "error", jsonl_file(chats(line5=[1, 2])), CLEAN_CHAT, [5]),
    Case(
        "data_type_message",
        "data_type",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, "Question 5?", assistant(5)))),
        CLEAN_CHAT,
        [5],
        detail="message 2",
    ),
    Case(
        "missing_messages_list_empty",
        "missing_messages_list",
        "error",
        jsonl_file(chats(line5={"messages": []})),
        CLEAN_CHAT,
        [5],
    ),
    Case(
        "missing_messages_list_no_key",
        "missing_messages_list",
        "error",
        jsonl_file(chats(line5={"conversation": chat(5)["messages"]})),
        CLEAN_CHAT,
        [5],
    ),
    Case(
        "message_missing_key_content",
        "message_missing_key",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, {"role": "user"}, assistant(5)))),
        CLEAN_CHAT,
        [5],
        detail='"content"',
    ),
    Case(
        "message_missing_key_role",
        "message_missing_key",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, {"content": "Question 5?"}, assistant(5)))),
        CLEAN_CHAT,
        [5],
        detail='"role"',
    ),
    Case(
        "message_unrecognized_key",
        "message_unrecognized_key",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, user(5, lang="en"), assistant(5)))),
        jsonl_file(chats(line5=example(SYSTEM, user(5, name="alice"), assistant(5)))),
        [5],
        detail="'lang'",
    ),
    Case(
        "unrecognized_role",
        "unrecognized_role",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, user(5, role="human"), assistant(5)))),
        jsonl_file(chats(line5=example(SYSTEM | {"role": "developer"}, user(5), assistant(5)))),
        [5],
        detail="'human'",
    ),
    Case(
        "unrecognized_role_not_text",
        "unrecognized_role",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, user(5, role=["user"]), assistant(5)))),
        CLEAN_CHAT,
        [5],
    ),
    Case(
        "missing_content_empty",
        "missing_content",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, user(5, content=""), assistant(5)))),
        CLEAN_CHAT,
        [5],
    ),
    Case(
        "missing_content_number",
        "missing_content",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, user(5, content=42), assistant(5)))),
        jsonl_file(
            chats(
                line5=example(
                    SYSTEM, user(5, content=[{"type": "text", "text": "42"}]), assistant(5)
                )
            )
        ),
        [5],
    ),
    Case(
        "example_missing_assistant_message",
        "example_missing_assistant_message",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, user(5)))),
        CLEAN_CHAT,
        [5],
    ),
    # Beyond the cookbook: chat.
    Case(
        "unrecognized_key",
        "unrecognized_key",
        "warning",
        jsonl_file(chats(line5=chat(5) | {"id": 5})),
        jsonl_file(chats(line5=chat(5) | {"parallel_tool_calls": False})),
        [5],
        detail="'id'",
    ),
    Case(
        "invalid_weight_value",
        "invalid_weight",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, user(5), assistant(5, weight=2)))),
        jsonl_file(chats(line5=example(SYSTEM, user(5), assistant(5, weight=1)))),
        [5],
    ),
    Case(
        "invalid_weight_on_user",
        "invalid_weight",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, user(5, weight=1), assistant(5)))),
        jsonl_file(chats(line5=example(SYSTEM, user(5), assistant(5, weight=1)))),
        [5],
    ),
    Case(
        "all_weights_zero",
        "all_weights_zero",
        "error",
        jsonl_file(chats(line5=example(SYSTEM, user(5), assistant(5, weight=0)))),
        jsonl_file(chats(line5=_TWO_ASSISTANTS)),
        [5],
    ),
    Case(
        "invalid_tools",
        "invalid_tools",
        "error",
        jsonl_file(
            chats(line5=chat(5) | {"tools": [{"type": "function", "function": {"parameters": {}}}]})
        ),
        jsonl_file(chats(line5=chat(5) | {"tools": [WEATHER_TOOL]})),
        [5],
    ),
    Case(
        "invalid_tool_call",
        "invalid_tool_call",
        "error",
        jsonl_file(chats(line5=tool_call_example(5, arguments="{not json", tools=[WEATHER_TOOL]))),
        jsonl_file(chats(line5=tool_call_example(5, tools=[WEATHER_TOOL]))),
        [5],
        detail="not valid JSON",
    ),
    Case(
        "undeclared_tool",
        "undeclared_tool",
        "error",
        jsonl_file(chats(line5=tool_call_example(5))),
        jsonl_file(chats(line5=tool_call_example(5, tools=[WEATHER_TOOL]))),
        [5],
        detail="'get_weather'",
    ),
    Case(
        "undeclared_tool_legacy_function",
        "undeclared_tool",
        "error",
        jsonl_file(chats(line5=function_call_example(5))),
        jsonl_file(chats(line5=function_call_example(5, functions=[WEATHER_TOOL["function"]]))),
        [5],
        detail="'get_weather'",
    ),
    Case(
        "missing_system_message",
        "missing_system_message",
        "info",
        jsonl_file(chats(line5=example(user(5), assistant(5)))),
        CLEAN_CHAT,
        [5],
    ),
    # Preference (DPO).
    Case(
        "invalid_preference_input",
        "invalid_preference_input",
        "error",
        prefs(line5=preference(5) | {"input": {"msgs": [SYSTEM, user(5)]}}),
        CLEAN_PREF,
        [5],
    ),
    Case(
        "invalid_preference_output_role",
        "invalid_preference_output",
        "error",
        prefs(line5=preference(5) | {"preferred_output": [user(5)]}),
        CLEAN_PREF,
        [5],
        detail="preferred_output",
    ),
    Case(
        "invalid_preference_output_two_messages",
        "invalid_preference_output",
        "error",
        prefs(line5=preference(5) | {"non_preferred_output": [assistant(5), assistant(6)]}),
        CLEAN_PREF,
        [5],
        detail="non_preferred_output",
    ),
    Case(
        "preference_outputs_equal",
        "preference_outputs_equal",
        "error",
        prefs(line5=_EQUAL_OUTPUTS),
        CLEAN_PREF,
        [5],
    ),
    # Prompt-completion (legacy).
    Case(
        "invalid_prompt_completion_empty",
        "invalid_prompt_completion",
        "error",
        pcs(line5=prompt_completion(5) | {"completion": ""}),
        CLEAN_PC,
        [5],
    ),
    Case(
        "invalid_prompt_completion_number",
        "invalid_prompt_completion",
        "error",
        pcs(line5=prompt_completion(5) | {"prompt": 5}),
        pcs(line5=prompt_completion(5) | {"prompt": f"5{SEPARATOR}"}),
        [5],
    ),
    Case(
        "missing_prompt_separator",
        "missing_prompt_separator",
        "warning",
        pcs(line5=prompt_completion(5) | {"prompt": "Question 5?"}),
        CLEAN_PC,
    ),
    Case(
        "completion_missing_leading_space",
        "completion_missing_leading_space",
        "warning",
        pcs(line5=prompt_completion(5) | {"completion": "Answer 5. END"}),
        CLEAN_PC,
        [5],
    ),
    Case(
        "missing_stop_sequence",
        "missing_stop_sequence",
        "warning",
        pcs(line5=prompt_completion(5) | {"completion": " Answer 5."}),
        CLEAN_PC,
    ),
    Case(
        "long_example",
        "long_example",
        "warning",
        pcs(line5={"prompt": "word " * 2100 + SEPARATOR, "completion": " Answer 5. END"}),
        pcs(line5={"prompt": "word " * 1900 + SEPARATOR, "completion": " Answer 5. END"}),
        [5],
    ),
    # The dataset as a whole.
    Case(
        "mixed_formats",
        "mixed_formats",
        "error",
        jsonl_file(chats(line5=prompt_completion(5))),
        CLEAN_CHAT,
        [5],
        detail="prompt_completion",
    ),
    Case(
        "duplicate_example",
        "duplicate_example",
        "warning",
        jsonl_file(chats(line9=_reordered(chat(3)))),
        jsonl_file(chats(line9=example(SYSTEM, user(3), assistant(3, content="Answer 3!")))),
        [9],
        detail="same as line 3",
    ),
    Case(
        "too_few_examples_one",
        "too_few_examples",
        "error",
        jsonl_file(chats(1)),
        jsonl_file(chats(10)),
        detail="1 example",
    ),
    Case(
        "too_few_examples_nine",
        "too_few_examples",
        "error",
        jsonl_file(chats(9)),
        jsonl_file(chats(10)),
        detail="9 example",
    ),
    Case(
        "small_dataset_10", "small_dataset", "warning", jsonl_file(chats(10)), jsonl_file(chats(50))
    ),
    Case(
        "small_dataset_49", "small_dataset", "warning", jsonl_file(chats(49)), jsonl_file(chats(50))
    ),
    Case(
        "example_too_long",
        "example_too_long",
        "error",
        jsonl_file(chats(line5=_long_user(17_000))),
        jsonl_file(chats(line5=_long_user(16_000))),
        [5],
        detail="> 16,385",
        settings={"model": "gpt-3.5-turbo"},
    ),
    Case(
        "model_format_mismatch_preference",
        "model_format_mismatch",
        "error",
        CLEAN_PREF,
        CLEAN_PREF,
        detail="gpt-3.5-turbo-0125",
        settings={"model": "gpt-3.5-turbo"},
        clean_settings={"model": "gpt-4o-mini"},
    ),
    Case(
        "model_format_mismatch_prompt_completion",
        "model_format_mismatch",
        "error",
        CLEAN_PC,
        CLEAN_PC,
        detail="prompt_completion",
        settings={"model": "gpt-4o-mini"},
        clean_settings={"model": "babbage-002"},
    ),
    Case(
        "model_format_mismatch_chat_on_legacy",
        "model_format_mismatch",
        "error",
        CLEAN_CHAT,
        CLEAN_CHAT,
        settings={"model": "davinci-002"},
        clean_settings={"model": "gpt-4.1-nano"},
    ),
]


def test_every_code_has_a_trigger_case() -> None:
    assert {case.code for case in CASES} == set(KINDS)


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_trigger_reports_the_code_on_its_lines(case: Case, tmp_path: Path) -> None:
    report = validate(case.trigger(tmp_path), **case.settings)
    found = finding(report, case.code)
    assert found is not None, f"{case.code} not reported; got {sorted(codes(report))}"
    as_json = found.to_dict()
    assert as_json["severity"] == case.severity
    assert found.lines == case.lines
    assert found.count == max(1, len(case.lines))
    if case.detail:
        assert case.detail in found.details[0]
    # Errors block a job; warnings and notes never do.
    assert report.valid is (case.severity != "error")
    assert report.to_dict()["valid"] is report.valid


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_near_twin_does_not_report_the_code(case: Case, tmp_path: Path) -> None:
    settings = case.settings if case.clean_settings is None else case.clean_settings
    report = validate(case.clean(tmp_path), **settings)
    assert case.code not in codes(report)
    assert report.valid, [f.to_dict() for f in report.errors]


def test_crlf_bom_and_trailing_blank_lines_are_accepted_without_findings(tmp_path: Path) -> None:
    content = b"\xef\xbb\xbf" + jsonl_bytes(chats(50), newline=b"\r\n") + b"\r\n\r\n\n"
    report = validate(write(tmp_path, content))
    assert report.findings == []
    assert report.examples == 50
    assert report.valid


def test_invalid_encoding_offset_counts_the_bom_and_crlf(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    first = b'{"messages": "\xff"}'
    rest = jsonl_bytes(chats(12)[1:], newline=b"\r\n")
    content = bom + first + b"\r\n" + rest.replace(b"Question 7?", b"Question \xfe?")
    report = validate(write(tmp_path, content))
    found = finding(report, "invalid_encoding")
    assert found is not None
    assert found.lines == [1, 7]
    first_offset = len(bom) + first.index(b"\xff")
    seventh_offset = content.index(b"\xfe")
    assert found.details == [
        f"invalid UTF-8 at byte offset {first_offset}",
        f"invalid UTF-8 at byte offset {seventh_offset}",
    ]


def test_invalid_json_in_a_json_array_names_line_and_column(tmp_path: Path) -> None:
    lines = [json.dumps(chat(i)) for i in range(1, 12)]
    text = "[\n" + ",\n".join(lines) + ",\n" + '{"messages": [}' + "\n]\n"
    report = validate(write(tmp_path, text.encode(), "data.json"))
    found = finding(report, "invalid_json")
    assert found is not None
    assert found.lines == [13]
    assert found.details == ["line 13 column 15: Expecting value"]


def test_a_finding_keeps_its_first_lines_and_counts_the_rest(tmp_path: Path) -> None:
    lines = [chat(i) | {"id": i} if i % 2 else chat(i) for i in range(1, 61)]
    report = validate(jsonl_file(lines)(tmp_path))
    found = finding(report, "unrecognized_key")
    assert found is not None
    assert found.lines == list(range(1, 61, 2))[:LINES_KEPT]
    assert found.count == 30


def test_every_repeat_of_an_example_names_the_first(tmp_path: Path) -> None:
    lines = chats(20, line7=chat(2), line11=_reordered(chat(2)), line15=chat(2))
    report = validate(jsonl_file(lines)(tmp_path))
    found = finding(report, "duplicate_example")
    assert found is not None
    assert found.lines == [7, 11, 15]
    assert found.details == ["same as line 2", "same as line 2", "same as line 2"]


def test_a_tool_calling_assistant_may_omit_content(tmp_path: Path) -> None:
    call = tool_call_example(5, tools=[WEATHER_TOOL])
    assert isinstance(call, dict)
    without_content = json.loads(json.dumps(call))
    del without_content["messages"][2]["content"]
    report = validate(jsonl_file(chats(line5=without_content))(tmp_path))
    assert not codes(report) & {"message_missing_key", "missing_content"}
