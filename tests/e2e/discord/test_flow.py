"""From an attachment to a trained model, through the real `tunebot serve --discord`."""

from __future__ import annotations

import pytest

from tests.e2e.discord_deployment import DiscordDeployment
from tests.e2e.helpers import chat_jsonl, chat_jsonl_with_errors
from tests.emulators.discord.records import LOADING
from tests.emulators.discord_emulator import (
    ADMIN,
    ALICE,
    BOB,
    FINETUNERS_ROLE,
    GENERAL,
    Interaction,
    Message,
)
from tests.emulators.openai_emulator import JobScript

JOB_CREATE = ("POST", "/v1/fine_tuning/jobs")


def report_in_thread(d: DiscordDeployment, message_id: int, timeout: float = 20.0) -> list[Message]:
    discord = d.discord
    return discord.wait_for(
        lambda: [m for m in discord.bot_messages(message_id) if m.embeds], timeout
    )


def button_id(message: Message, label: str) -> str:
    return next(
        str(c["custom_id"])
        for row in message.components
        for c in row["components"]
        if c.get("label") == label
    )


def job_creates(d: DiscordDeployment) -> int:
    return sum(1 for r in d.openai.requests if (r.method, r.path) == JOB_CREATE)


def filled_answer(d: DiscordDeployment, interaction: Interaction) -> Message | None:
    """The message that answered a deferred interaction, once it is no longer "thinking…"."""
    for message_id in [interaction.original_message_id, *interaction.followup_ids]:
        message = d.discord.message(message_id) if message_id else None
        if (
            message is not None
            and (message.content or message.embeds)
            and not message.flags & LOADING
        ):
            return message
    return None


def deferred_answer(d: DiscordDeployment, interaction_id: int, timeout: float = 20.0) -> Message:
    return d.discord.wait_for(
        lambda: filled_answer(d, d.discord.interaction(interaction_id)), timeout
    )


def answer_text(d: DiscordDeployment, interaction_id: int, timeout: float = 20.0) -> str:
    """What the person saw: the immediate answer, or the deferred answer's followup."""
    discord = d.discord

    def seen() -> str:
        found = discord.interaction(interaction_id)
        if found.callback is None:
            return ""
        if found.callback.type == 4:
            return str(found.callback.data.get("content") or found.callback.data.get("embeds"))
        message = filled_answer(d, found)
        return "" if message is None else message.content + str(message.embeds)

    return discord.wait_for(seen, timeout)


def test_a_file_with_errors_gets_its_report_with_line_numbers(discord_stage: DiscordDeployment):
    data, bad_lines = chat_jsonl_with_errors()
    posted = discord_stage.discord.post(ALICE, GENERAL, "", files=[("broken.jsonl", data)])
    (report, *_) = report_in_thread(discord_stage, posted.id)
    text = str(report.embeds)
    for line in bad_lines:
        assert f"line {line}" in text
    assert "Start fine-tune" not in str(report.components)


def test_start_button_modal_job_progress_and_one_notice_with_chart(
    discord_stage: DiscordDeployment,
):
    discord = discord_stage.discord
    discord_stage.openai.script = JobScript(validating_s=0.1, queued_s=0.1, steps=6, step_s=0.5)
    before = job_creates(discord_stage)
    posted = discord.post(ALICE, GENERAL, "", files=[("train.jsonl", chat_jsonl())])
    (report,) = report_in_thread(discord_stage, posted.id)
    assert report.embeds[0]["title"].startswith("ds-")
    click = discord.click(ALICE, report.id, button_id(report, "Start fine-tune"))
    discord.wait_for_callback(click.id)
    submitted = discord.submit_modal(ALICE, click.id, {"epochs": "2", "suffix": "e2e"})
    assert "started" in answer_text(discord_stage, submitted.id)
    notices = discord.wait_for(
        lambda: [m for m in discord.bot_messages(posted.id) if "succeeded." in m.content], 40
    )
    assert len(notices) == 1
    assert notices[0].attachment_ids, "the success notice carries the loss chart"
    edited = discord.wait_for(
        lambda: [
            m
            for m in discord.bot_messages(posted.id)
            if m.edits and "succeeded" in m.embeds[0]["title"]
        ],
        10,
    )
    assert len(edited) == 1, "the job's one message is edited in place to its outcome"
    assert job_creates(discord_stage) == before + 1


def test_status_list_and_autocomplete_name_this_guilds_jobs(discord_stage: DiscordDeployment):
    discord = discord_stage.discord
    posted = discord.post(ALICE, GENERAL, "", files=[("auto.jsonl", chat_jsonl())])
    (report,) = report_in_thread(discord_stage, posted.id)
    short_id = report.embeds[0]["title"].split(" ")[0]
    typed = discord.autocomplete(ALICE, GENERAL, "finetune start", "dataset", dataset=short_id)
    choices = discord.wait_for_callback(typed.id).callback.data["choices"]
    assert [c["value"] for c in choices] == [short_id]
    models = discord.autocomplete(ALICE, GENERAL, "finetune start", "model", model="gpt-4o-mini")
    assert discord.wait_for_callback(models.id).callback.data["choices"]
    listed = discord.run_command(ALICE, GENERAL, "finetune list", scope="all")
    assert "job-" in answer_text(discord_stage, listed.id) or "none yet" in answer_text(
        discord_stage, listed.id
    )
    missing = discord.run_command(ALICE, GENERAL, "finetune cancel", job="job-999999")
    assert "no job" in answer_text(discord_stage, missing.id)


@pytest.mark.discord_env(
    {"DISCORD_ALLOWED_ROLES": str(FINETUNERS_ROLE), "TUNEBOT_MONTHLY_BUDGET_USD": "0"}
)
def test_roles_decide_who_may_start_and_the_budget_refuses(discord_bot: DiscordDeployment):
    discord = discord_bot.discord
    posted = discord.post(ALICE, GENERAL, "", files=[("roles.jsonl", chat_jsonl())])
    report_in_thread(discord_bot, posted.id)
    bob = discord.run_command(BOB, GENERAL, "finetune start")
    assert "You may not start" in answer_text(discord_bot, bob.id)
    alice = discord.run_command(ALICE, GENERAL, "finetune start")
    assert "budget" in answer_text(discord_bot, alice.id).lower()
    admin = discord.run_command(ADMIN, GENERAL, "finetune start")
    assert "You may not" not in answer_text(discord_bot, admin.id)
    assert job_creates(discord_bot) == 0
