"""**Fix and re-upload** on Discord, through the real `tunebot serve --discord`: one message in
the dataset's thread carries the fixed file, what changed and the new dataset's report, however
often the button is clicked, the click delivered, or the process killed while it works."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import select

from storage.models import Dataset, Task
from tests.e2e.discord.test_flow import answer_text, button_id, report_in_thread
from tests.e2e.discord_deployment import DiscordDeployment
from tests.e2e.helpers import chat_jsonl, prompt_completion_csv, reading, stays
from tests.emulators.discord_emulator import ALICE, BOB, GENERAL, RANDOM, Message

FIX = "Fix and re-upload"
START = "Start fine-tune"
TIMEOUT = 20.0
HELD_S = 3.0
"""How long the emulated Discord holds the fixed file's post, for a click or a crash to land."""


def dataset_row(d: DiscordDeployment, short_id: str) -> Dataset:
    with reading(d.database_url) as session:
        return session.get_one(Dataset, int(short_id.removeprefix("ds-")))


def fix_tasks(d: DiscordDeployment, thread: int) -> list[Task]:
    """The fix tasks asked for in one thread."""
    with reading(d.database_url) as session:
        found = session.scalars(select(Task).where(Task.kind == "discord.fix")).all()
        return [t for t in found if t.payload.get("thread") == str(thread)]


def short_id_of(report: Message) -> str:
    return str(report.embeds[0]["title"]).split(" ")[0]


def uploaded(d: DiscordDeployment, name: str, content: bytes) -> tuple[int, Message]:
    """A person posts a file; (its thread, the report in it)."""
    posted = d.discord.post(ALICE, GENERAL, "", files=[(name, content)])
    (report,) = report_in_thread(d, posted.id)
    return posted.id, report


def fixed_files(d: DiscordDeployment, thread: int) -> list[Message]:
    """The bot's messages in the thread that carry a file (the fixed ones)."""
    return [m for m in d.discord.bot_messages(thread) if m.attachment_ids]


def one_fixed_file(d: DiscordDeployment, thread: int) -> Message:
    d.discord.wait_for(lambda: fixed_files(d, thread), TIMEOUT)
    assert stays(lambda: len(fixed_files(d, thread)) == 1, 1.0), [
        m.content for m in fixed_files(d, thread)
    ]
    return fixed_files(d, thread)[0]


def said_privately(d: DiscordDeployment, user: int, told: str) -> bool:
    """`told` (an interaction's answer) is in a message only `user` sees."""
    return any(m.content and m.content in told for m in d.discord.ephemerals(user))


def hold_posts_in(d: DiscordDeployment, thread: int, count: int) -> None:
    """Discord takes the next `count` posts in the thread `HELD_S` seconds to make."""
    d.discord.inject(pattern=rf"^POST /channels/{thread}/messages$", delay=HELD_S, count=count)


def test_fix_posts_the_fixed_file_its_changes_and_its_report_in_one_message(
    discord_stage: DiscordDeployment,
):
    d = discord_stage
    content = prompt_completion_csv(20)
    thread, report = uploaded(d, "legacy.csv", content)
    original = short_id_of(report)
    assert f"tunebot:fix:{original.removeprefix('ds-')}" == button_id(report, FIX)
    assert any(f["name"] == "Fix and re-upload would" for f in report.embeds[0]["fields"])

    click = d.discord.click(ALICE, report.id, button_id(report, FIX))

    told = answer_text(d, click.id)  # the run is through
    message = one_fixed_file(d, thread)
    fixed = short_id_of(message)
    assert f"Fixed {original} as {fixed}" in told
    assert said_privately(d, ALICE, told)
    assert f"Fixed {original} for <@{ALICE}>" in message.content
    assert "converted CSV to JSONL" in message.content
    (attachment_id,) = message.attachment_ids
    assert d.discord.attachment(attachment_id)["filename"] == "legacy-fixed.jsonl"
    rows = list(csv.reader(io.StringIO(content.decode())))[1:]
    lines = [json.loads(line) for line in d.discord.attachment_bytes(attachment_id).splitlines()]
    assert len(lines) == len(rows) == 20
    for line, (prompt, completion) in zip(lines, rows, strict=True):
        assert line["prompt"].startswith(prompt)
        assert line["completion"].startswith(" ") and line["completion"].strip() == completion
    title = message.embeds[0]["title"]
    assert fixed != original and title == f"{fixed} · legacy-fixed.jsonl"
    assert message.embeds[0]["description"] == "✅ Ready to fine-tune"
    assert len(message.embeds) < len(report.embeds), "the fixed file has fewer findings"
    assert button_id(message, START) == f"tunebot:start:{fixed.removeprefix('ds-')}"
    assert FIX not in str(message.components), "nothing is left to fix"
    row = dataset_row(d, fixed)
    assert row.fixed_from_id == int(original.removeprefix("ds-"))
    assert row.report_message_ts == str(message.id) and row.thread_ts == str(thread)


def test_two_clicks_and_a_click_delivered_twice_post_the_fixed_file_once(
    discord_stage: DiscordDeployment,
):
    """Alice's and Bob's clicks each run (one task a click); while the first run's post is held
    up at Discord the second cannot see it in the thread, and posts with the same nonce."""
    d = discord_stage
    data = chat_jsonl(8).decode().splitlines()
    content = ("\n".join([*data, data[0], "", data[1]]) + "\n").encode()  # 2 repeats, 1 blank
    thread, report = uploaded(d, "twice.jsonl", content)
    hold_posts_in(d, thread, count=2)

    alice = d.discord.click(ALICE, report.id, button_id(report, FIX))
    bob = d.discord.click(BOB, report.id, button_id(report, FIX))
    d.discord.wait_for_callback(alice.id)
    d.discord.deliver_again(alice.id)

    answers = answer_text(d, alice.id) + answer_text(d, bob.id)  # both runs are through
    message = one_fixed_file(d, thread)
    fixed = short_id_of(message)
    assert answers.count(fixed) == 2
    assert "removed 2 duplicate example(s)" in message.content
    assert "removed 1 blank line(s)" in message.content
    lines = d.discord.attachment_bytes(message.attachment_ids[0]).decode().splitlines()
    assert lines == [json.dumps(json.loads(line), separators=(",", ":")) for line in data]
    assert len(fix_tasks(d, thread)) == 2, "the click delivered again ran no task of its own"
    assert d.discord.interaction(alice.id).refused_callbacks == []
    assert dataset_row(d, fixed).report_message_ts == str(message.id)


def test_a_dataset_whose_stored_file_is_gone_gets_a_private_answer(
    discord_stage: DiscordDeployment,
):
    d = discord_stage
    thread, report = uploaded(d, "gone.csv", prompt_completion_csv(5))
    stored = dataset_row(d, short_id_of(report)).normalized_path
    assert stored is not None
    Path(stored).unlink()
    before = len(d.discord.bot_messages(thread))

    click = d.discord.click(ALICE, report.id, button_id(report, FIX))

    told = answer_text(d, click.id)
    assert "stored file" in told and "gone" in told and "upload" in told
    assert said_privately(d, ALICE, told)
    assert stays(lambda: len(d.discord.bot_messages(thread)) == before, 1.0)


def test_a_crash_while_the_fixed_file_is_being_posted_leaves_one_message(
    discord_bot: DiscordDeployment,
):
    """The process dies after its post reached Discord but before it heard back; Discord
    makes the message all the same. The task the next process runs posts nothing more."""
    d = discord_bot
    posted = d.discord.post(ALICE, RANDOM, "", files=[("crash.csv", prompt_completion_csv(10))])
    (report,) = report_in_thread(d, posted.id)
    hold_posts_in(d, posted.id, count=1)
    click = d.discord.click(ALICE, report.id, button_id(report, FIX))
    d.discord.wait_for(lambda: d.discord.faults_left() == 0, TIMEOUT)  # the post is held

    d.bot.kill()
    d.bot.start()

    (task,) = d.discord.wait_for(
        lambda: [t for t in fix_tasks(d, posted.id) if t.status == "done"], TIMEOUT
    )
    assert task.attempts >= 2, "the process that died had the task in hand"
    message = one_fixed_file(d, posted.id)
    fixed = short_id_of(message)
    assert fixed in answer_text(d, click.id)
    assert dataset_row(d, fixed).report_message_ts == str(message.id)
