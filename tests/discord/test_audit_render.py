"""The audit log as a Discord embed: dates for every reader, escaped details, within limits."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from finetuning.audit import SYSTEM, AuditEntryRecord
from handlers.discord.render.audit import DETAIL_CHARS, audit_embed, audit_line
from handlers.discord.render.limits import MAX_DESCRIPTION

MOMENT = datetime(2026, 3, 4, 12, 30, tzinfo=UTC)


def entry(number: int = 1, **fields: Any) -> AuditEntryRecord:
    values: dict[str, Any] = {
        "id": number,
        "workspace_id": "discord:1",
        "actor": "900000000000000012",
        "action": "job.started",
        "subject": f"job-{number}",
        "detail": {},
        "cost_usd": None,
        "created_at": MOMENT,
    }
    values.update(fields)
    return AuditEntryRecord(**values)


def test_a_line_says_when_who_what_on_what_and_the_cost() -> None:
    line = audit_line(entry(cost_usd=Decimal("0.0042"), detail={"model": "gpt-4o-mini"}))

    assert line == (
        f"• <t:{int(MOMENT.timestamp())}:f> <@900000000000000012> `job.started` `job-1` "
        "<$0.01 (model=gpt-4o-mini)"
    )


def test_the_system_and_a_naive_time_read_as_utc() -> None:
    line = audit_line(entry(actor=SYSTEM, created_at=MOMENT.replace(tzinfo=None)))

    assert line.startswith(f"• <t:{int(MOMENT.timestamp())}:f> *system* ")


def test_what_people_wrote_cannot_format_ping_or_run_on() -> None:
    detail = {"file": "**bold** @everyone <@&900000000000000201>\nsecond line " + "x" * 200}

    line = audit_line(entry(detail=detail))

    for raw in ("**bold**", "@everyone", "<@&900000000000000201>"):
        assert raw not in line
    assert "\n" not in line
    assert line.endswith("…)") and len(line.split("(", 1)[1]) <= DETAIL_CHARS + 1


def test_many_long_entries_fit_one_embed_and_say_what_was_left_out() -> None:
    entries = [entry(n, detail={"file": "y" * 300}) for n in range(100)]

    embed = audit_embed(entries, "/finetune")

    assert embed.description is not None and len(embed.description) <= MAX_DESCRIPTION
    shown = embed.description.count("• ")
    assert 0 < shown < 100
    assert embed.title == f"Audit log: the last {shown} entries, newest first"
    assert embed.footer.text is not None
    assert embed.footer.text.startswith(f"{100 - shown} older entries did not fit.")
    assert "/finetune audit csv" in embed.footer.text


def test_an_empty_log_says_so() -> None:
    embed = audit_embed([], "/finetune")

    assert embed.description == "The audit log is empty: nothing has changed here yet."
