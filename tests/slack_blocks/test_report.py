"""The dataset report, rendered from reports the real dataset engine produced."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from finetuning.datasets.findings import Finding, FindingKind, Severity
from finetuning.datasets.report import ValidationReport
from handlers.slack.blocks import report_blocks
from handlers.slack.blocks.text import format_tokens, usd
from tests.datasets.builders import (
    SYSTEM,
    assistant,
    chat,
    chats,
    example,
    jsonl_bytes,
    user,
    validate,
    write,
)
from tests.slack_blocks.checks import (
    SLACK_MAX_BLOCKS,
    all_text,
    assert_message_ok,
    buttons,
    mrkdwn_texts,
)

HOSTILE = "<!channel> & <@U1>"


def engine_report(folder: Path, lines: list[object], name: str = "data.jsonl") -> ValidationReport:
    return validate(write(folder, jsonl_bytes(lines), name))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def valid_report(folder: Path) -> ValidationReport:
    return engine_report(folder, chats(60), "valid.jsonl")


@pytest.fixture(scope="module")
def small_report(folder: Path) -> ValidationReport:
    return engine_report(folder, chats(12), "small.jsonl")


@pytest.fixture(scope="module")
def broken_report(folder: Path) -> ValidationReport:
    """Errors on several lines, a duplicate (warning) and missing system messages (notes)."""
    lines: list[object] = chats(60)
    for line in range(12, 37):
        lines[line - 1] = b'{"messages": [{"role": "user" "content": "hi"}]}'
    lines[39] = example(user(40), assistant(40))
    lines[40] = example(user(41), assistant(41))
    lines[44] = chat(1)
    return engine_report(folder, lines, "broken.jsonl")


@pytest.fixture(scope="module")
def hostile_report(folder: Path) -> ValidationReport:
    """User data that would ping the channel if it reached Slack unescaped."""
    call = {"id": "c1", "type": "function", "function": {"name": HOSTILE, "arguments": "{}"}}
    lines: list[object] = chats(60)
    lines[2] = example(SYSTEM, {"role": HOSTILE, "content": "q"}, assistant(3))
    lines[3] = example(SYSTEM, user(4, **{HOSTILE: 1}), assistant(4))
    lines[4] = example(
        SYSTEM, user(5), {"role": "assistant", "content": None, "tool_calls": [call]}
    )
    return engine_report(folder, lines, f"{HOSTILE}.jsonl")


def section_texts(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def fields(blocks: list[dict]) -> dict[str, str]:
    """The fields section as {title: value}."""
    (section,) = [b for b in blocks if b["type"] == "section" and "fields" in b]
    pairs = [field["text"].split("\n", 1) for field in section["fields"]]
    return {title.strip("*"): value for title, value in pairs}


def test_valid_report_says_ready_and_offers_start(valid_report):
    assert valid_report.valid
    text, blocks = report_blocks(valid_report, "ds-7", can_start=True, fixable=[])
    assert_message_ok(text, blocks)
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "✅ Ready to train · ds-7"
    assert text.startswith("✅ valid.jsonl is ready to train as ds-7")
    assert "`/finetune start ds-7`" in blocks[1]["text"]["text"]
    (start,) = buttons(blocks)
    assert start["action_id"] == "start_finetune"
    assert start["value"] == "ds-7"
    assert start["style"] == "primary"
    assert start["text"]["text"] == "Start fine-tune"
    assert blocks[-1]["type"] == "actions"


def test_fields_show_format_size_tokens_and_cost(valid_report):
    _, blocks = report_blocks(valid_report, "ds-7", can_start=True, fixable=[])
    shown = fields(blocks)
    estimate = valid_report.estimate
    tokens = valid_report.tokens
    assert shown["Format"] == "chat (jsonl)"
    assert shown["Examples"] == "60"
    assert shown["Tokens"] == (
        f"{format_tokens(tokens.total)} in all\n"
        f"longest: {format_tokens(tokens.max_example)} (line {tokens.max_example_line})"
    )
    assert shown["Epochs"] == f"{estimate.epochs} (the API's default)"
    assert shown["Billed tokens"] == format_tokens(estimate.billed_tokens)
    assert shown["Estimated cost"] == (
        f"{usd(estimate.cost_usd)} on `{estimate.model}`\nprices of {valid_report.prices_read_on}"
    )


def test_given_epochs_are_labelled_as_given(folder):
    report = validate(write(folder, jsonl_bytes(chats(60)), "epochs.jsonl"), epochs=7)
    _, blocks = report_blocks(report, "ds-1", can_start=True, fixable=[])
    assert fields(blocks)["Epochs"] == "7 (as given)"


def test_no_buttons_without_start_or_fixes(valid_report):
    text, blocks = report_blocks(valid_report, "ds-7", can_start=False, fixable=[])
    assert_message_ok(text, blocks)
    assert buttons(blocks) == []
    assert all(b["type"] != "actions" for b in blocks)


def test_fixable_lists_the_fixes_above_the_fix_button(broken_report):
    fixes = ["remove 1 duplicate example", "drop lines that are not <valid> JSON & retry"]
    text, blocks = report_blocks(broken_report, "ds-9", can_start=False, fixable=fixes)
    assert_message_ok(text, blocks)
    (fix,) = buttons(blocks)
    assert (fix["action_id"], fix["value"], fix["text"]["text"]) == (
        "fix_dataset",
        "ds-9",
        "Fix and re-upload",
    )
    assert "style" not in fix
    listing = blocks[-2]["text"]["text"]
    assert listing == (
        "*Fix and re-upload* would:\n• remove 1 duplicate example\n"
        "• drop lines that are not &lt;valid&gt; JSON &amp; retry"
    )


def test_both_buttons_start_first(valid_report):
    _, blocks = report_blocks(valid_report, "ds-7", can_start=True, fixable=["x"])
    assert [b["action_id"] for b in buttons(blocks)] == ["start_finetune", "fix_dataset"]
    assert {b["value"] for b in buttons(blocks)} == {"ds-7"}


def test_broken_report_says_will_not_train_with_errors_first(broken_report):
    assert not broken_report.valid
    text, blocks = report_blocks(broken_report, "ds-9", can_start=False, fixable=[])
    assert_message_ok(text, blocks)
    assert blocks[0]["text"]["text"] == "❌ Will not train · ds-9"
    assert text == "❌ broken.jsonl (ds-9) will not train: 25 errors."
    body = "\n".join(section_texts(blocks))
    invalid = body.index(":x: *invalid_json* (25×) the line is not valid JSON")
    duplicate = body.index(":warning: *duplicate_example* (1×)")
    note = body.index(":information_source: *missing_system_message* (2×)")
    assert invalid < duplicate < note
    finding = next(f for f in broken_report.findings if f.code == "invalid_json")
    assert f"• line 12: {finding.details[0]}" in body
    assert "• line 14: " in body
    assert "• line 15" not in body
    assert "… and 22 more" in body
    assert "_Each line must be one complete JSON object; check quotes, commas and braces._" in body
    assert "• line 45: same as line 1" in body
    assert "• lines 40, 41" in body
    assert "`/finetune start" not in body


def test_small_dataset_guidance_comes_first_and_once(small_report):
    text, blocks = report_blocks(small_report, "ds-3", can_start=True, fixable=[])
    assert_message_ok(text, blocks)
    guidance = blocks[2]["text"]["text"]
    assert guidance.startswith(":warning: *A small dataset: expect little improvement* (12 ")
    assert "50-100 good examples" in guidance
    assert all("small_dataset" not in t for t in mrkdwn_texts(blocks))
    assert "fields" in blocks[3]
    assert blocks[0]["text"]["text"].startswith("✅")


def test_user_data_is_escaped_everywhere(hostile_report):
    text, blocks = report_blocks(hostile_report, "ds-5", can_start=False, fixable=[HOSTILE])
    assert_message_ok(text, blocks)
    rendered = json.dumps(blocks) + text
    assert "<!channel>" not in rendered
    assert "<@U1>" not in rendered
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in text
    body = "\n".join(mrkdwn_texts(blocks))
    for code in ("unrecognized_role", "message_unrecognized_key", "undeclared_tool"):
        assert f"*{code}*" in body
    assert body.count("&lt;!channel&gt; &amp; &lt;@U1&gt;") >= 5


def test_long_details_are_cut(folder):
    key = "k" * 5000
    lines: list[object] = chats(60)
    for line in range(5, 15):
        lines[line] = example(SYSTEM, user(line, **{f"{key}{line}": 1}), assistant(line))
    report = engine_report(folder, lines, "long.jsonl")
    text, blocks = report_blocks(report, "ds-2", can_start=False, fixable=[])
    assert_message_ok(text, blocks)
    body = "\n".join(section_texts(blocks))
    assert "… and 7 more" in body
    assert "k" * 100 in body
    assert "k" * 1000 not in body


def many_findings(lines: int = 10, detail: str = "") -> list[Finding]:
    """40 codes of 10 lines each, half errors, with long details quoting user data.

    The engine knows fewer codes than this, so these are built directly; they stand for the
    worst report a future engine could produce.
    """
    severities = (Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.ERROR)
    out = []
    for index in range(40):
        kind = FindingKind(
            f"code_{index:02}",
            severities[index % 4],
            f"problem number {index} found in the example",
            f"Fix hint number {index}, explained at some length so that it takes room.",
        )
        numbers = [1000 * index + n for n in range(1, lines + 1)]
        details = [detail or f"{HOSTILE} " + "x" * 400 + f" {index}-{n}" for n in numbers]
        out.append(Finding(kind, numbers, details, count=5000 + index))
    return out


@pytest.mark.parametrize("can_start", [True, False])
def test_forty_codes_of_long_details_fit_one_message(valid_report, can_start):
    report = dataclasses.replace(valid_report, findings=many_findings())
    fixes = [f"fix {n}: " + "y" * 300 for n in range(30)]
    text, blocks = report_blocks(report, "ds-7", can_start=can_start, fixable=fixes)
    assert_message_ok(text, blocks)
    assert len(blocks) <= SLACK_MAX_BLOCKS
    assert blocks[0]["type"] == "header"
    assert blocks[-1]["type"] == "actions"
    expected = ["start_finetune", "fix_dataset"] if can_start else ["fix_dataset"]
    assert [b["action_id"] for b in buttons(blocks)] == expected
    body = all_text(blocks)
    first_error = body.index("*code_00*")
    assert "… and 4,997 more" in body[first_error:]
    assert "_Fix hint number 0," in body
    errors = [f.code for f in report.findings if f.severity is Severity.ERROR]
    assert all(f"code_{n:02}" in body for n in range(40)) or "not shown" in body
    for code in errors:
        assert code in body
    note = blocks[-3]
    assert note["type"] == "context"
    assert "`tunebot validate`" in note["elements"][0]["text"]


def test_every_code_is_at_least_named_when_details_are_short(valid_report):
    report = dataclasses.replace(valid_report, findings=many_findings(lines=10, detail="short"))
    text, blocks = report_blocks(report, "ds-7", can_start=True, fixable=[])
    assert_message_ok(text, blocks)
    body = all_text(blocks)
    for n in range(40):
        assert f"*code_{n:02}*" in body or f"`code_{n:02}`" in body


def test_more_findings_than_fit_are_counted_in_a_note(valid_report):
    findings = many_findings() * 10
    report = dataclasses.replace(valid_report, findings=findings)
    text, blocks = report_blocks(report, "ds-7", can_start=True, fixable=[])
    assert_message_ok(text, blocks)
    (note,) = [b for b in blocks if b["type"] == "context"]
    assert "more findings not shown" in note["elements"][0]["text"]
    assert buttons(blocks)[0]["value"] == "ds-7"
