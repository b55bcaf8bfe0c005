"""A file dropped in a channel: checked, and answered in its own thread."""

from __future__ import annotations

import json
import re

from tests.e2e.helpers import (
    FIX_ACTION,
    START_ACTION,
    Stage,
    block_texts,
    buttons,
    chat_jsonl,
    chat_jsonl_with_errors,
    dataset_id,
    everything_said,
    prompt_completion_csv,
    replay,
    stays,
)

MAX_UPLOAD_BYTES = 5 << 20  # TUNEBOT_MAX_UPLOAD_MB in the harness


def finding_text(report_text: str, code: str) -> str:
    """The paragraph of a report about one finding code (its lines and hint)."""
    paragraphs = [p for p in report_text.split("\n\n") if f"*{code}*" in p]
    assert paragraphs, f"{code} is not in the report:\n{report_text}"
    return paragraphs[0]


def test_a_valid_file_gets_a_report_with_its_id_figures_and_a_start_button(stage: Stage):
    shared = stage.share("support.jsonl", chat_jsonl(24))

    report = stage.report(shared)

    assert report.by_app and report.thread_ts == shared.ts
    short_id = dataset_id(report)
    said = block_texts(report.blocks)
    assert "Ready to train" in said
    assert "*Format*\nchat (jsonl)" in said
    assert "*Examples*\n24" in said
    assert "*Tokens*\n" in said and "in all" in said
    assert "*Estimated cost*\n$" in said and "gpt-4o-mini" in said
    start = buttons(report)[START_ACTION]
    assert start["value"] == short_id
    assert FIX_ACTION not in buttons(report)
    assert short_id in report.text and "24 examples" in report.text


def test_a_file_with_errors_names_their_lines_and_offers_no_start(stage: Stage):
    content, bad_lines = chat_jsonl_with_errors()
    shared = stage.share("broken.jsonl", content)

    report = stage.report(shared)

    said = block_texts(report.blocks)
    assert "Will not train" in said
    assert re.search(rf"\blines? {bad_lines[0]}\b", finding_text(said, "invalid_json"))
    missing = finding_text(said, "example_missing_assistant_message")
    assert re.search(rf"\blines? {bad_lines[1]}\b", missing)
    assert START_ACTION not in buttons(report)
    assert "will not train" in report.text and "2 errors" in report.text


def test_files_that_are_not_datasets_are_left_alone(stage: Stage):
    picture = stage.share("chart.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    notes = stage.share("notes.txt", b"remember the milk\n")
    dataset = stage.share("later.jsonl", chat_jsonl())
    stage.report(dataset)  # the app is working, and has had its chance at the others

    assert stays(lambda: not stage.thread(picture.ts) and not stage.thread(notes.ts))
    assert stage.downloads_of(picture.file_id) == []
    assert stage.downloads_of(notes.file_id) == []
    assert [r.ts for r in stage.channel_messages() if r.by_app] == [stage.report(dataset).ts]


def test_an_oversize_file_is_answered_without_being_downloaded(stage: Stage):
    shared = stage.share("huge.jsonl", b"x" * (MAX_UPLOAD_BYTES + 1))

    reply = stage.report(shared)

    assert "huge.jsonl" in reply.text and "5 MB limit" in reply.text
    assert "TUNEBOT_MAX_UPLOAD_MB" in reply.text
    assert START_ACTION not in buttons(reply)
    assert stage.downloads_of(shared.file_id) == []


def test_a_partial_file_object_is_completed_with_files_info(stage: Stage):
    shared = stage.share("partial.jsonl", chat_jsonl(), partial=True)

    report = stage.report(shared)

    asked = [c for c in stage.api_calls("files.info") if c.params.get("file") == shared.file_id]
    assert asked, "the app never looked the file up"
    assert "Ready to train" in block_texts(report.blocks)
    assert [d["authorized"] for d in stage.downloads_of(shared.file_id)] == [True]


def test_the_same_bytes_shared_again_name_the_existing_dataset(stage: Stage):
    content = chat_jsonl()
    first = stage.share("week1.jsonl", content)
    original = dataset_id(stage.report(first))

    second = stage.share("week1-copy.jsonl", content)
    again = stage.report(second)

    assert second.ts != first.ts
    assert original in again.text and "checked before" in again.text
    assert dataset_id(again) == original
    assert stage.datasets_with(content) == 1


def test_a_redelivered_event_is_reported_once(stage: Stage):
    content = chat_jsonl()
    shared = stage.share("retried.jsonl", content)
    event = next(d for d in stage.deliveries() if d.kind == "event" and shared.file_id in d.body)

    for retry_num in (1, 2):
        assert replay(stage.slack, event, retry_num=retry_num).status_code == 200
    stage.report(shared)

    assert stays(lambda: len(stage.thread(shared.ts)) == 1, seconds=1.0)
    assert stage.datasets_with(content) == 1


def test_a_slow_answer_retried_by_slack_is_reported_once(stage: Stage):
    """Slack gives up on an answer after its timeout and sends the event again, up to 3 times;
    every copy reaches the app, and still one report is posted."""
    stage.slack.app_timeout = 0.001
    content = chat_jsonl()
    shared = stage.share("impatient.jsonl", content)
    tries = [d for d in stage.deliveries() if d.kind == "event" and shared.file_id in d.body]
    assert [d.retry_num for d in tries] == [0, 1, 2, 3]

    stage.report(shared)

    assert stays(lambda: len(stage.thread(shared.ts)) == 1, seconds=1.0)
    assert stage.datasets_with(content) == 1


def test_a_download_redirected_off_slack_is_refused_and_the_token_kept(stage: Stage):
    shared = stage.share("moved.jsonl", chat_jsonl(), download="redirect")

    reply = stage.report(shared)

    assert "could not read" in reply.text and "redirected" in reply.text
    assert stage.downloads_of(shared.file_id), "the app should have tried Slack's own host"
    assert stage.slack.foreign_requests == []
    assert START_ACTION not in buttons(reply)


def test_a_download_answered_with_a_login_page_asks_for_files_read(stage: Stage):
    shared = stage.share("hidden.jsonl", chat_jsonl(), download="html")

    reply = stage.report(shared)

    assert "files:read" in reply.text
    assert START_ACTION not in buttons(reply)


def test_fix_and_reupload_posts_a_fixed_file_and_its_own_report(stage: Stage):
    shared = stage.share("legacy.csv", prompt_completion_csv(20))
    report = stage.report(shared)
    original = dataset_id(report)
    said = block_texts(report.blocks)
    assert "prompt-completion (csv)" in said
    assert buttons(report)[FIX_ACTION]["value"] == original

    assert stage.click(report, FIX_ACTION)[0] == 200
    replies = stage.replies(shared.ts, count=3)

    upload, new_report = replies[1], replies[2]
    assert stage.api_calls("files.getUploadURLExternal")
    assert stage.api_calls("files.completeUploadExternal")
    assert upload.files, "the fixed file should be attached in the thread"
    fixed = next(f for f in stage.slack.uploaded_files if f.id == upload.files[0])
    assert fixed.name == "legacy-fixed.jsonl"
    lines = [json.loads(line) for line in fixed.content.decode().splitlines()]
    assert len(lines) == 20
    assert all(line["completion"].startswith(" ") for line in lines)
    assert original in upload.text and "converted CSV to JSONL" in upload.text
    fixed_id = dataset_id(new_report)
    assert fixed_id != original
    assert "legacy-fixed.jsonl" in everything_said(new_report)
    assert "prompt-completion (jsonl)" in block_texts(new_report.blocks)
    assert buttons(new_report)[START_ACTION]["value"] == fixed_id
