"""Job messages: started, status lists, and a start that failed."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from finetuning.jobs import JobRecord
from handlers.slack.blocks import (
    job_failed_to_start_blocks,
    job_started_blocks,
    job_status_blocks,
)
from tests.slack_blocks.checks import assert_message_ok, mrkdwn_texts

CREATED = datetime(2025, 3, 4, 9, 15, tzinfo=UTC)
HOSTILE = "<!channel> & <@U1>"


def job(**changes: object) -> JobRecord:
    base = JobRecord(
        id=3,
        short_id="job-3",
        workspace_id="T001",
        provider_job_id="ftjob-abc123",
        status="running",
        base_model="gpt-4o-mini-2024-07-18",
        fine_tuned_model=None,
        dataset_id=7,
        dataset_short_id="ds-7",
        dataset_file_name="support.jsonl",
        started_by="U123ABC",
        channel_id="C0GENERAL",
        thread_ts="1700000000.000100",
        status_message_ts=None,
        epochs=3,
        suffix=None,
        estimated_cost_usd=0.42,
        actual_cost_usd=None,
        trained_tokens=None,
        error_code=None,
        error_message=None,
        created_at=CREATED,
        finished_at=None,
    )
    return dataclasses.replace(base, **changes)


def test_job_started_names_the_job_person_model_epochs_cost_and_provider_id():
    text, blocks = job_started_blocks(job())
    assert_message_ok(text, blocks)
    assert text == (
        "Fine-tune `job-3` started by <@U123ABC>: `gpt-4o-mini-2024-07-18` on `ds-7`, "
        "3 epochs, estimated $0.42, provider id `ftjob-abc123`."
    )
    assert blocks[0]["text"]["text"] == f":rocket: {text}"
    follow = blocks[1]["elements"][0]["text"]
    assert "`/finetune status job-3`" in follow
    assert "`/finetune cancel job-3`" in follow


def test_job_started_without_epochs_cost_or_provider_id():
    text, blocks = job_started_blocks(
        job(epochs=None, estimated_cost_usd=None, provider_job_id=None, started_by=None),
        command="/tune",
    )
    assert_message_ok(text, blocks)
    assert text == (
        "Fine-tune `job-3` started: `gpt-4o-mini-2024-07-18` on `ds-7`, epochs as the API picks."
    )
    assert "`/tune status job-3`" in blocks[1]["elements"][0]["text"]


def test_tiny_costs_do_not_read_as_free_or_as_markup():
    text, blocks = job_started_blocks(job(estimated_cost_usd=0.001))
    assert_message_ok(text, blocks)
    assert "estimated &lt;$0.01" in text


def test_status_of_one_succeeded_job():
    done = job(
        status="succeeded",
        fine_tuned_model="ft:gpt-4o-mini-2024-07-18:acme::xyz",
        actual_cost_usd=0.4012,
    )
    text, blocks = job_status_blocks([done], title="Job job-3")
    assert_message_ok(text, blocks)
    assert text == "job-3: succeeded"
    assert blocks[0]["text"]["text"] == "*Job job-3*"
    body = blocks[1]["text"]["text"]
    assert body.splitlines() == [
        ":white_check_mark: *job-3* · succeeded · `ftjob-abc123`",
        "`gpt-4o-mini-2024-07-18` → `ft:gpt-4o-mini-2024-07-18:acme::xyz` · dataset `ds-7` · "
        "by <@U123ABC>",
        "3 epochs · cost $0.40 (estimated $0.42) · created "
        f"<!date^{int(CREATED.timestamp())}^{{date_short_pretty}} {{time}}|2025-03-04 09:15 UTC>",
    ]


@pytest.mark.parametrize(
    ("status", "mark"),
    [
        ("pending", ":hourglass_flowing_sand:"),
        ("validating_files", ":mag:"),
        ("queued", ":hourglass:"),
        ("running", ":gear:"),
        ("paused", ":double_vertical_bar:"),
        ("succeeded", ":white_check_mark:"),
        ("failed", ":x:"),
        ("cancelled", ":no_entry_sign:"),
        ("rejected", ":no_entry:"),
        ("something_new", ":grey_question:"),
    ],
)
def test_every_status_has_its_mark(status, mark):
    _, blocks = job_status_blocks([job(status=status)], title="Jobs")
    first_line = blocks[1]["text"]["text"].splitlines()[0]
    assert first_line.startswith(f"{mark} *job-3* · {status.replace('_', ' ')}")


def test_failed_job_shows_its_error_escaped():
    failed = job(status="failed", error_message=f"Line 3 has {HOSTILE}\nand more")
    text, blocks = job_status_blocks([failed], title="Jobs")
    assert_message_ok(text, blocks)
    body = blocks[1]["text"]["text"]
    assert body.splitlines()[-1] == "> Line 3 has &lt;!channel&gt; &amp; &lt;@U1&gt; and more"


def test_user_data_in_job_fields_is_escaped():
    odd = job(
        started_by=HOSTILE,
        base_model=HOSTILE,
        fine_tuned_model="ft:`tick`<!here>",
        dataset_short_id="ds-<1>",
    )
    text, blocks = job_status_blocks([odd], title=f"Jobs of {HOSTILE}")
    assert_message_ok(text, blocks)
    rendered = json.dumps(blocks) + text
    assert "<!channel>" not in rendered
    assert "<!here>" not in rendered
    assert "<@U1>" not in rendered
    assert "by &lt;!channel&gt; &amp; &lt;@U1&gt;" in blocks[1]["text"]["text"]
    started_text, started = job_started_blocks(odd)
    assert_message_ok(started_text, started)
    assert "<!channel>" not in json.dumps(started) + started_text


def test_a_non_slack_starter_is_named_not_mentioned():
    _, blocks = job_status_blocks([job(started_by="cli")], title="Jobs")
    assert "by cli" in blocks[1]["text"]["text"]


def test_list_order_is_kept():
    jobs = [job(short_id=f"job-{n}") for n in (9, 4, 1)]
    text, blocks = job_status_blocks(jobs, title="Jobs in this channel")
    assert_message_ok(text, blocks)
    assert text == "Jobs in this channel: 3 jobs"
    assert [b["text"]["text"].split("*")[1] for b in blocks[1:]] == ["job-9", "job-4", "job-1"]


def test_no_jobs():
    text, blocks = job_status_blocks([], title="Jobs in this channel")
    assert_message_ok(text, blocks)
    assert text == "Jobs in this channel: none"
    assert blocks[1]["elements"][0]["text"] == "No fine-tuning jobs yet."


def test_hundreds_of_jobs_are_cut_to_one_message_with_a_note():
    jobs = [
        job(
            short_id=f"job-{n}",
            status="failed",
            error_message="x" * 5000,
            created_at=CREATED - timedelta(days=n),
        )
        for n in range(500)
    ]
    text, blocks = job_status_blocks(jobs, title="All jobs", total=2000)
    assert_message_ok(text, blocks)
    shown = len(blocks) - 2
    assert 0 < shown < 500
    assert blocks[-1]["elements"][0]["text"].startswith(f"Showing {shown} of 2,000 jobs")
    assert text == "All jobs: 2,000 jobs"


def test_a_short_page_says_how_many_exist():
    text, blocks = job_status_blocks([job()], title="Jobs", total=12)
    assert_message_ok(text, blocks)
    assert blocks[-1]["elements"][0]["text"].startswith("Showing 1 of 12 jobs")


def test_all_shown_means_no_note():
    _, blocks = job_status_blocks([job(), job(short_id="job-4")], title="Jobs", total=2)
    assert all(b["type"] == "section" for b in blocks)


def test_failed_to_start_quotes_the_error_and_gives_the_hint():
    text, blocks = job_failed_to_start_blocks(
        f"Invalid file: {HOSTILE}\nsecond line", "Run `/finetune models` to see what you can train."
    )
    assert_message_ok(text, blocks)
    assert blocks[0]["text"]["text"] == (
        ":x: *The fine-tune did not start.*\n"
        "> Invalid file: &lt;!channel&gt; &amp; &lt;@U1&gt;\n"
        "> second line"
    )
    assert blocks[1]["elements"][0]["text"] == (
        ":bulb: Run `/finetune models` to see what you can train."
    )
    assert text == (
        "The fine-tune did not start: Invalid file: &lt;!channel&gt; &amp; &lt;@U1&gt; second line"
    )


def test_failed_to_start_without_hint_and_with_a_huge_error():
    text, blocks = job_failed_to_start_blocks("e" * 100_000, None)
    assert_message_ok(text, blocks)
    assert len(blocks) == 1
    assert all(len(t) < 2000 for t in mrkdwn_texts(blocks))


def test_many_short_jobs_stop_at_the_block_limit():
    jobs = [
        job(
            short_id=f"j{n}",
            provider_job_id=None,
            base_model="m",
            dataset_short_id="d",
            started_by=None,
            epochs=None,
            estimated_cost_usd=None,
        )
        for n in range(300)
    ]
    text, blocks = job_status_blocks(jobs, title="Jobs")
    assert_message_ok(text, blocks)
    assert len(blocks) == 50
    assert blocks[-1]["elements"][0]["text"].startswith("Showing 48 of 300 jobs")
