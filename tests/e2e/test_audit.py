"""The audit log from Slack: what people did leaves entries, and only admins read them.

A deployment of this module's own, with Alice named in TUNEBOT_ADMINS (Bob is nobody special;
Ada is a workspace admin in Slack) and a follower polling every second, so a cancelled job's end
is recorded while the test waits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from handlers.slack.blocks.text import usd
from tests.e2e.deployment import Deployment, deployment_with
from tests.e2e.helpers import Stage, chat_jsonl, dataset_id, everything_said, job_id, stays
from tests.emulators.openai_emulator import JobScript
from tests.emulators.slack_emulator import ADMIN, ALICE, BOB, ResponsePost

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.db)]
SETTINGS = {"TUNEBOT_POLL_SECONDS": "1", "TUNEBOT_ADMINS": ALICE}
TIMEOUT = 15.0


@pytest.fixture(scope="module", params=DATABASES)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with deployment_with(request.param, tmp_path_factory.mktemp("audit"), SETTINGS) as found:
        yield found


def started_by_bob(stage: Stage) -> tuple[str, str]:
    """Bob drops a dataset and starts a job that stays where it is; (ds-N, job-N)."""
    stage.openai.script = JobScript(manual=True)
    shared = stage.share("train.jsonl", chat_jsonl(), user=BOB)
    dataset = dataset_id(stage.report(shared))
    status, _ = stage.command("start", user=BOB)
    assert status == 200
    announcement = everything_said(stage.replies(shared.ts, count=2, timeout=TIMEOUT)[1])
    return dataset, job_id(announcement)


def audit_lines(stage: Stage, user: str, text: str = "audit 100") -> list[str]:
    status, body = stage.command(text, user=user)
    assert status == 200 and "Reading the audit log" in body
    answer = stage.private_answer(user, "Audit log", TIMEOUT)
    assert answer.outcome == "ephemeral"
    return str(answer.body["text"]).splitlines()


def line_for(lines: list[str], *parts: str) -> int:
    """The index of the one line holding every part."""
    found = [i for i, line in enumerate(lines) if all(part in line for part in parts)]
    assert len(found) == 1, (parts, lines)
    return found[0]


def test_uploading_starting_and_cancelling_leave_who_what_and_cost(stage: Stage):
    dataset, job = started_by_bob(stage)
    status, _ = stage.command(f"cancel {job}", user=ALICE)
    assert status == 200
    stage.private_answer(ALICE, "Cancelling", TIMEOUT)
    stage.slack.wait_for(lambda: stage.job_row(job).status == "cancelled", timeout=TIMEOUT)
    estimate = stage.job_row(job).estimated_cost_usd
    assert estimate is not None and estimate > 0

    lines = audit_lines(stage, ALICE)

    uploaded = line_for(lines, f"<@{BOB}>", "`dataset.uploaded`", f"`{dataset}`")
    started = line_for(lines, f"<@{BOB}>", "`job.started`", f"`{job}`", usd(estimate))
    cancelled = line_for(lines, f"<@{ALICE}>", "`job.cancelled`", f"`{job}`")
    ended = line_for(lines, "_system_", "`job.ended`", f"`{job}`", "status=cancelled")
    assert ended < cancelled < started < uploaded, "newest first"
    for index in (uploaded, started, cancelled, ended):
        assert lines[index].startswith("• <!date^"), "a date each reader sees in their zone"
    assert "$" not in lines[cancelled] and "$" not in lines[ended], "only a success costs"


def test_someone_who_is_not_an_admin_is_told_why_and_whom_to_ask(stage: Stage):
    started_by_bob(stage)
    files_before = len(stage.slack.uploaded_files)

    for text in ("audit", "audit csv"):
        status, body = stage.command(text, user=BOB)
        assert status == 200 and "Reading the audit log" in body

    def both_refused() -> list[ResponsePost]:
        found = [p for p in stage.response_posts() if p.user == BOB and "admins" in str(p.body)]
        return found if len(found) == 2 else []

    refusals = stage.slack.wait_for(both_refused, timeout=TIMEOUT)
    for refusal in refusals:
        text = str(refusal.body["text"])
        assert "Only tunebot admins may read the audit log" in text and f"<@{ALICE}>" in text
        assert "dataset.uploaded" not in text and refusal.outcome == "ephemeral"
    assert stays(lambda: len(stage.slack.uploaded_files) == files_before)


def test_a_workspace_admin_in_slack_reads_the_log_too(stage: Stage):
    dataset, _ = started_by_bob(stage)

    lines = audit_lines(stage, ADMIN, "audit 2")

    assert lines[0].startswith("*Audit log: the last 2 entries")
    entries = [line for line in lines if line.startswith("• ")]
    assert len(entries) == 2
    assert any(dataset in line for line in audit_lines(stage, ADMIN, "audit"))


def test_the_csv_goes_to_the_admins_dm_with_the_right_rows(stage: Stage):
    dataset, job = started_by_bob(stage)
    estimate = stage.job_row(job).estimated_cost_usd
    assert estimate is not None

    status, body = stage.command("audit csv", user=ALICE)

    assert status == 200 and "Reading the audit log" in body
    answer = stage.private_answer(ALICE, "sent to your DM", TIMEOUT)
    assert answer.outcome == "ephemeral"
    dm = stage.slack.wait_for(
        lambda: [m for m in stage.slack.messages(ALICE) if m.by_app and m.files], timeout=TIMEOUT
    )[-1]
    [uploaded] = [f for f in stage.slack.uploaded_files if f.id in dm.files]
    assert uploaded.name.startswith("tunebot-audit-") and uploaded.name.endswith(".csv")
    assert not any(m.files for m in stage.channel_messages() if m.by_app), "never in the channel"
    header, *rows = csv.reader(io.StringIO(uploaded.content.decode("utf-8-sig"), newline=""))
    assert header == ["id", "time_utc", "actor", "action", "subject", "cost_usd", "detail"]
    mine = [(r[2], r[3], r[4], r[5]) for r in rows if r[4] in (dataset, job)]
    assert mine == [
        (BOB, "dataset.uploaded", dataset, ""),
        (BOB, "job.started", job, format(estimate, "f")),
    ]
