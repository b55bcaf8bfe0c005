"""Talking to tuned models from Discord, through the real `tunebot serve --discord` between the
Discord and OpenAI emulators. A deployment of this module's own per database, whose replies are
edited at most every 0.3 s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from handlers.discord.streaming import CUT_NOTE, TYPING_MARKER
from handlers.discord.tasks.ask import PRIVATE_PARTS
from storage.models import Task
from tests.e2e.deployment import FAST_JOBS
from tests.e2e.discord.test_flow import answer_text, button_id, report_in_thread
from tests.e2e.discord_deployment import DiscordDeployment, discord_deployment_with
from tests.e2e.helpers import call_failed, chat_jsonl, reading, stays
from tests.emulators.discord.records import LOADING
from tests.emulators.discord_emulator import (
    ALICE,
    BOB,
    BOT_USER_ID,
    FINETUNERS_ROLE,
    GENERAL,
    OTHER_BOT,
    RANDOM,
    Message,
)
from tests.emulators.openai_emulator import JobScript

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.db)]
SETTINGS = {"TUNEBOT_POLL_SECONDS": "1", "TUNEBOT_STREAM_UPDATE_SECONDS": "0.3"}
TIMEOUT = 15.0
ME = f"<@{BOT_USER_ID}>"


@pytest.fixture(scope="module", params=DATABASES)
def talk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DiscordDeployment]:
    data_dir = tmp_path_factory.mktemp(f"dtalk-{request.param}")
    with discord_deployment_with(request.param, data_dir, SETTINGS) as found:
        yield found


@pytest.fixture
def d(talk: DiscordDeployment, request: pytest.FixtureRequest) -> Iterator[DiscordDeployment]:
    talk.openai.chat_reply = "Hello from the emulated model."
    talk.openai.tokens_per_second = 0.0
    talk.openai.stream_error_after = None
    yield talk
    talk.openai.clear_faults()
    if call_failed(request):
        print(talk.bot.log()[-20000:])


def tuned_model(d: DiscordDeployment) -> str:
    """A fine-tuned model that exists on the OpenAI side."""
    (job,) = d.openai.create_jobs(1, model="gpt-4o-mini-2024-07-18", status="succeeded")
    return str(d.openai.job(job)["fine_tuned_model"])


def use(d: DiscordDeployment, model: str, channel: int = GENERAL, **options: object) -> Message:
    """`/finetune use` and the message that announces the binding where it applies."""
    before = {m.id for m in d.discord.bot_messages(channel)}
    d.discord.run_command(ALICE, channel, "finetune use", model=model, **options)
    return d.discord.wait_for(
        lambda: next(
            (
                m
                for m in d.discord.bot_messages(channel)
                if m.id not in before and "🔗" in m.content
            ),
            None,
        ),
        TIMEOUT,
    )


def replies(d: DiscordDeployment, thread: int, count: int = 1) -> list[Message]:
    """The bot's first `count` messages in a thread, once the last has stopped growing."""

    def ready() -> list[Message]:
        found = d.discord.bot_messages(thread)
        done = len(found) >= count and TYPING_MARKER not in found[-1].content
        return found if done and "-# " in found[-1].content else []

    return d.discord.wait_for(ready, TIMEOUT)


def private_answer(d: DiscordDeployment, interaction_id: int, count: int = 1) -> list[Message]:
    """The ephemeral messages answering a private question (the filled "thinking…" answer, then
    followups), once `count` are there and the last has stopped growing."""

    def ready() -> list[Message]:
        interaction = d.discord.interaction(interaction_id)
        ids = dict.fromkeys([interaction.original_message_id, *interaction.followup_ids])
        found = [m for i in ids if i and (m := d.discord.message(i)) is not None]
        shown = [m for m in found if m.content and not m.flags & LOADING]
        done = len(shown) >= count and TYPING_MARKER not in shown[-1].content
        return shown if done else []

    return d.discord.wait_for(ready, TIMEOUT)


def chat_requests(d: DiscordDeployment) -> list[dict[str, object]]:
    return [c.body for c in d.openai.completions if c.endpoint == "chat"]


def test_use_announces_and_a_mention_streams_its_reply_into_a_new_thread(d: DiscordDeployment):
    model = tuned_model(d)
    announced = use(d, model, system="You answer briefly.", temperature=0.3)
    words = " ".join(f"word{i}" for i in range(60))
    d.openai.chat_reply = words
    d.openai.tokens_per_second = 40.0

    asked = d.discord.post(ALICE, GENERAL, f"{ME} What is 2 + 2?")
    (reply,) = replies(d, asked.id)

    assert model in announced.content and "temperature 0.3" in announced.content
    assert d.discord.channel(asked.id) is not None, "the thread sits on the mention"
    assert reply.content.split("\n-# ")[0] == words
    assert len(reply.edits) >= 2, "the reply grows by editing one message"
    assert any(TYPING_MARKER in v.content for v in reply.edits)
    assert chat_requests(d)[-1]["messages"] == [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "What is 2 + 2?"},
    ]


def test_a_reply_in_the_thread_continues_with_the_earlier_turns(d: DiscordDeployment):
    use(d, tuned_model(d))
    asked = d.discord.post(ALICE, GENERAL, f"{ME} First question")
    replies(d, asked.id)
    d.openai.chat_reply = "Second answer."

    d.discord.post(BOB, asked.id, "And a follow-up, without a mention")
    second = replies(d, asked.id, 2)[1]

    assert second.content.startswith("Second answer.")
    assert chat_requests(d)[-1]["messages"] == [
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "Hello from the emulated model."},
        {"role": "user", "content": "And a follow-up, without a mention"},
    ]


def test_a_long_answer_continues_in_further_messages_with_fences_balanced(d: DiscordDeployment):
    use(d, tuned_model(d))
    code = "\n".join(f"value_{i} = compute({i}) ** 2" for i in range(150))
    prose = "This sentence belongs to a long answer. " * 40
    d.openai.chat_reply = f"{prose}\n\n```python\n{code}\n```\n\n{prose}"

    asked = d.discord.post(ALICE, GENERAL, f"{ME} Write a lot")
    parts = replies(d, asked.id, 3)

    assert len(parts) >= 3
    assert all(len(m.content) <= 2000 for m in parts)
    assert all(m.content.count("```") % 2 == 0 for m in parts)
    said = " ".join(m.content for m in parts)
    assert said.count("This sentence belongs to a long answer.") == 80
    assert all(f"value_{i} =" in said for i in range(150))


def test_use_on_a_job_still_training_is_refused_with_the_reason(d: DiscordDeployment):
    d.openai.script = JobScript(manual=True)
    posted = d.discord.post(ALICE, RANDOM, "", files=[("train.jsonl", chat_jsonl())])
    report_in_thread(d, posted.id)
    started = d.discord.run_command(ALICE, RANDOM, "finetune start")
    job = next(w.strip("`.,*") for w in answer_text(d, started.id).split() if "job-" in w)

    refused = d.discord.run_command(ALICE, RANDOM, "finetune use", model=job)
    said = answer_text(d, refused.id)

    assert "no model to talk to yet" in said and f"/finetune status {job}" in said
    assert stays(lambda: not any("🔗" in m.content for m in d.discord.bot_messages(RANDOM)), 1)


def test_a_public_question_is_asked_in_the_channel_and_its_thread_goes_on(d: DiscordDeployment):
    d.openai.chat_reply = "Paris."
    asked = d.discord.run_command(
        ALICE, GENERAL, "finetune ask", question="Capital of France?", model="gpt-4o-mini"
    )
    assert "answer is in" in answer_text(d, asked.id)
    root = next(
        m for m in reversed(d.discord.bot_messages(GENERAL)) if "Capital of France?" in m.content
    )
    (answer,) = replies(d, root.id)
    d.openai.chat_reply = "Madrid."
    d.discord.post(ALICE, root.id, "And of Spain?")
    replies(d, root.id, 2)

    assert answer.content.startswith("Paris.") and "asked" in root.content
    assert [m["content"] for m in chat_requests(d)[-1]["messages"]] == [
        "Capital of France?",
        "Paris.",
        "And of Spain?",
    ]


def test_a_private_question_is_answered_only_to_the_asker(d: DiscordDeployment):
    words = " ".join(f"secret{i}" for i in range(60))
    d.openai.chat_reply = words
    d.openai.tokens_per_second = 40.0
    before = len(d.discord.bot_messages(GENERAL))
    asked = d.discord.run_command(
        ALICE, GENERAL, "finetune ask", question="Private?", model="gpt-4o-mini", private=True
    )

    (answer,) = private_answer(d, asked.id)
    body, footer = answer.content.split("\n-# ")
    assert answer.ephemeral_to == ALICE
    assert answer.id == d.discord.interaction(asked.id).original_message_id, "fills thinking…"
    assert body == words and "gpt-4o-mini" in footer and "tokens" in footer
    assert answer.allowed_mentions is not None and answer.allowed_mentions.get("parse") == []
    growing = [v.content for v in answer.edits if TYPING_MARKER in v.content]
    assert len(growing) >= 2, "the private answer grows by editing one message"
    shown = [v.replace(TYPING_MARKER, "").strip() for v in growing]
    assert all(words.startswith(v) for v in shown) and shown == sorted(shown, key=len)
    assert stays(lambda: len(d.discord.bot_messages(GENERAL)) == before, 1)


def test_a_long_private_answer_goes_on_in_followups_and_says_where_it_was_cut(
    d: DiscordDeployment,
):
    code = "\n".join(f"value_{i} = compute({i}) ** 2" for i in range(150))
    prose = "This sentence belongs to a long private answer. " * 40
    d.openai.chat_reply = f"{prose}\n\n```python\n{code}\n```\n\n{prose}"
    before = len(d.discord.bot_messages(GENERAL))
    asked = d.discord.run_command(
        ALICE, GENERAL, "finetune ask", question="Long?", model="gpt-4o-mini", private=True
    )

    parts = private_answer(d, asked.id, PRIVATE_PARTS)
    assert len(parts) == PRIVATE_PARTS
    assert all(m.ephemeral_to == ALICE for m in parts)
    assert all(len(m.content) <= 2000 for m in parts)
    assert all(m.content.count("```") % 2 == 0 for m in parts)
    assert parts[0].content.startswith(prose.strip())
    assert "value_0 =" in parts[1].content or "value_0 =" in parts[0].content
    assert CUT_NOTE in parts[-1].content and "gpt-4o-mini" in parts[-1].content.split(CUT_NOTE)[1]
    assert all(CUT_NOTE not in m.content for m in parts[:-1])
    assert stays(lambda: len(private_answer(d, asked.id)) == PRIVATE_PARTS, 1)
    assert len(d.discord.bot_messages(GENERAL)) == before


def test_a_private_answer_that_fails_says_why_to_the_asker_only(d: DiscordDeployment):
    d.openai.inject(
        r"/v1/chat/completions",
        400,
        body={"error": {"message": "The prompt was refused.", "type": "invalid_request_error"}},
    )
    before = len(d.discord.bot_messages(GENERAL))
    asked = d.discord.run_command(
        ALICE, GENERAL, "finetune ask", question="Refused?", model="gpt-4o-mini", private=True
    )

    (answer,) = private_answer(d, asked.id)
    assert answer.ephemeral_to == ALICE
    assert answer.content.startswith("⚠️") and "The prompt was refused." in answer.content
    assert stays(lambda: len(d.discord.bot_messages(GENERAL)) == before, 1)


def test_a_private_answer_broken_off_mid_stream_keeps_what_was_written(d: DiscordDeployment):
    words = " ".join(f"part{i}" for i in range(60))
    d.openai.chat_reply = words
    d.openai.tokens_per_second = 40.0
    d.openai.stream_error_after = 40
    asked = d.discord.run_command(
        ALICE, GENERAL, "finetune ask", question="Broken?", model="gpt-4o-mini", private=True
    )

    (answer,) = private_answer(d, asked.id)
    written, problem = answer.content.split("\n⚠️ ")
    assert answer.ephemeral_to == ALICE
    assert written and words.startswith(written) and written != words
    assert "server had an error" in problem
    assert any(TYPING_MARKER in v.content for v in answer.edits), "it was growing before"


def test_a_private_answer_whose_token_expires_stops_and_never_reaches_the_channel(
    d: DiscordDeployment,
):
    d.openai.chat_reply = " ".join(f"late{i}" for i in range(200))
    d.openai.tokens_per_second = 40.0
    before = len(d.discord.bot_messages(GENERAL))
    asked = d.discord.run_command(
        ALICE, GENERAL, "finetune ask", question="Slow?", model="gpt-4o-mini", private=True
    )
    growing = d.discord.wait_for(
        lambda: next((m for m in d.discord.ephemerals(ALICE) if "late0" in m.content), None),
        TIMEOUT,
    )
    assert growing.id == d.discord.interaction(asked.id).original_message_id
    ttl = d.discord.token_ttl
    d.discord.token_ttl = 0.0
    try:
        d.discord.wait_for(lambda: "Discord refused its interaction token" in d.bot.log(), TIMEOUT)
        stopped = d.discord.message(growing.id)
        assert stopped is not None and TYPING_MARKER in stopped.content
        assert "late199" not in stopped.content
        assert stays(lambda: len(d.discord.bot_messages(GENERAL)) == before, 3)
        assert d.discord.message(growing.id) == stopped, "nothing more was shown"
    finally:
        d.discord.token_ttl = ttl


def test_compare_shows_both_answers_in_one_message(d: DiscordDeployment):
    model = tuned_model(d)
    d.openai.chat_reply = "Same words from both."
    d.discord.run_command(
        ALICE,
        GENERAL,
        "finetune compare",
        model_a=model,
        model_b="gpt-4o-mini",
        question="Which is better?",
    )

    def board() -> Message | None:
        for m in d.discord.bot_messages(GENERAL):
            bodies = [str(e.get("description")) for e in m.embeds]
            if (
                "compared on" in m.content
                and len(bodies) == 2
                and all(
                    b.startswith("Same words from both.") and TYPING_MARKER not in b for b in bodies
                )
            ):
                return m
        return None

    shown = d.discord.wait_for(board, TIMEOUT)
    assert [e["title"] for e in shown.embeds] == [model, "gpt-4o-mini-2024-07-18"]


def test_a_deleted_model_is_explained_in_the_thread_with_the_hint(d: DiscordDeployment):
    model = tuned_model(d)
    use(d, model)
    asked = d.discord.post(ALICE, GENERAL, f"{ME} First question")
    replies(d, asked.id)

    d.openai.app.state.models.pop(model)
    d.discord.post(ALICE, asked.id, "Second question")

    failed = d.discord.wait_for(
        lambda: next((m for m in d.discord.bot_messages(asked.id) if "⚠️" in m.content), None),
        TIMEOUT,
    )
    assert "no longer exists" in failed.content or "does not exist" in failed.content
    assert "/finetune use MODEL" in failed.content


def test_other_bots_never_start_or_continue_a_conversation(d: DiscordDeployment):
    use(d, tuned_model(d))
    asked = d.discord.post(ALICE, GENERAL, f"{ME} Hi")
    replies(d, asked.id)
    before = len(chat_requests(d))

    d.discord.post(OTHER_BOT, asked.id, "I am another bot, replying in the thread")
    d.discord.post(OTHER_BOT, GENERAL, f"{ME} and mentioning you at the top")

    assert stays(lambda: len(chat_requests(d)) == before, 2.0)
    assert len(d.discord.bot_messages(asked.id)) == 1


def test_mass_mentions_in_the_models_output_ping_nobody(d: DiscordDeployment):
    use(d, tuned_model(d))
    d.openai.chat_reply = f"Hey @everyone and @here, <@{ALICE}> and <@&{FINETUNERS_ROLE}>!"

    asked = d.discord.post(BOB, GENERAL, f"{ME} Shout")
    (reply,) = replies(d, asked.id)

    assert "@everyone" in reply.content and f"<@{ALICE}>" in reply.content
    assert reply.pinged == []
    assert reply.allowed_mentions is not None and reply.allowed_mentions.get("parse") == []


def _talk_tasks(database_url: str) -> list[str]:
    with reading(database_url) as session:
        return list(session.scalars(select(Task.status).where(Task.kind == "discord.talk")))


def test_a_mention_acknowledged_right_before_a_crash_is_answered_once_after_the_restart(
    discord_bot: DiscordDeployment,
):
    d = discord_bot
    use(d, "gpt-4o-mini")
    d.openai.inject(r"/v1/chat/completions", None, delay=5.0)

    asked = d.discord.post(ALICE, GENERAL, f"{ME} Are you still there after a crash?")
    d.discord.wait_for(lambda: _talk_tasks(d.database_url), TIMEOUT)
    d.bot.kill()
    assert not d.discord.bot_messages(asked.id), "the crash came before any answer"
    d.openai.clear_faults()

    d.bot.start()

    (reply,) = replies(d, asked.id)
    assert reply.content.startswith("Hello from the emulated model.")
    assert stays(lambda: len(d.discord.bot_messages(asked.id)) == 1, 1.5)
    assert _talk_tasks(d.database_url) == ["done"]


def test_the_success_notice_binds_the_channel_and_compares_with_the_base(d: DiscordDeployment):
    d.openai.script = FAST_JOBS
    posted = d.discord.post(ALICE, RANDOM, "", files=[("notice.jsonl", chat_jsonl())])
    report_in_thread(d, posted.id)
    d.discord.run_command(ALICE, RANDOM, "finetune start")
    notice = d.discord.wait_for(
        lambda: next(
            (m for m in d.discord.bot_messages(posted.id) if "succeeded." in m.content), None
        ),
        40,
    )
    before = {m.id for m in d.discord.bot_messages(RANDOM)}

    d.discord.click(ALICE, notice.id, button_id(notice, "Use in this channel"))
    bound = d.discord.wait_for(
        lambda: next(
            (m for m in d.discord.bot_messages(RANDOM) if m.id not in before and "🔗" in m.content),
            None,
        ),
        TIMEOUT,
    )
    click = d.discord.click(ALICE, notice.id, button_id(notice, "Compare with base"))
    d.discord.wait_for_callback(click.id)
    d.discord.submit_modal(ALICE, click.id, {"question": "Which is better?"})

    def board() -> Message | None:
        return next(
            (
                m
                for m in d.discord.bot_messages(posted.id)  # the notice's thread
                if "compared on" in m.content
                and len(m.embeds) == 2
                and all(TYPING_MARKER not in str(e.get("description")) for e in m.embeds)
            ),
            None,
        )

    shown = d.discord.wait_for(board, TIMEOUT)
    assert "ft:" in bound.content
    assert shown.embeds[0]["title"].startswith("ft:")
    assert shown.embeds[1]["title"].startswith("gpt-4o-mini")


def test_status_names_the_model_bound_to_the_channel_and_who_bound_it(d: DiscordDeployment):
    model = tuned_model(d)
    use(d, model, channel=RANDOM, temperature=0.5)

    asked = d.discord.run_command(BOB, RANDOM, "finetune status")
    said = str(d.discord.wait_for_callback(asked.id).callback.data.get("content") or "")

    assert f"`{model}` answers in this channel" in said
    assert f"<@{ALICE}>" in said and "temperature 0.5" in said
    d.discord.run_command(ALICE, RANDOM, "finetune use", model="off")
    d.discord.wait_for(
        lambda: any("unbound" in m.content for m in d.discord.bot_messages(RANDOM)), TIMEOUT
    )
    cleared = d.discord.run_command(BOB, RANDOM, "finetune status")
    assert "No model is bound" in str(
        d.discord.wait_for_callback(cleared.id).callback.data.get("content") or ""
    )
