"""Talking to tuned models from Slack, as the people in the channel see it.

A deployment of this module's own, whose follower polls every second (so a job started here
ends and announces itself) and whose streamed replies are edited at most every 0.3 s.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from handlers.slack.streaming import TYPING_MARKER
from tests.e2e.deployment import FAST_JOBS, Deployment, deployment_with
from tests.e2e.helpers import (
    Stage,
    chat_jsonl,
    dataset_id,
    everything_said,
    job_id,
    salt,
    stays,
)
from tests.emulators.openai_emulator import JobScript
from tests.emulators.slack_emulator import ALICE, BOB, Message

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.db)]
SETTINGS = {"TUNEBOT_POLL_SECONDS": "1", "TUNEBOT_STREAM_UPDATE_SECONDS": "0.3"}
REPLY_TIMEOUT = 15.0
CHAT = ("POST", "/v1/chat/completions")
LEGACY = ("POST", "/v1/completions")


@pytest.fixture(scope="module", params=DATABASES)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with deployment_with(request.param, tmp_path_factory.mktemp("talk"), SETTINGS) as found:
        yield found


@pytest.fixture(autouse=True)
def plain_replies(stage: Stage) -> Iterator[None]:
    """Every test starts from the emulator's defaults (instant replies, native streaming) and
    leaves the deployment idle: this follower polls every second, so a job left running would be
    read at OpenAI all through the next tests (see `Stage.settle`)."""
    stage.openai.chat_reply = "Hello from the emulated model."
    stage.openai.tokens_per_second = 0.0
    stage.openai.context_window = None
    stage.slack.enable_streaming()
    yield
    stage.openai.clear_faults()
    stage.slack.enable_streaming()
    stage.settle()


class Prompts:
    """A scripted model that answers `reply` and remembers every prompt it was shown."""

    def __init__(self, reply: str | None = None) -> None:
        self.seen: list[list[dict[str, Any]]] = []
        self.reply = reply
        self._lock = threading.Lock()

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        with self._lock:
            self.seen.append(messages)
            count = len(self.seen)
        return self.reply if self.reply is not None else f"Answer number {count}."


def tuned_model(stage: Stage, base: str = "gpt-4o-mini-2024-07-18") -> str:
    """A fine-tuned model that exists on the OpenAI side (trained outside this channel)."""
    (job,) = stage.openai.create_jobs(1, model=base, status="succeeded")
    model = stage.openai.job(job)["fine_tuned_model"]
    assert model, stage.openai.job(job)
    return str(model)


def bind(stage: Stage, text: str) -> Message:
    """`/finetune use …` and the channel message that announces the binding."""
    status, _ = stage.command(text)
    assert status == 200
    return stage.slack.wait_for(
        lambda: next(
            (m for m in stage.channel_messages() if m.by_app and ":link:" in m.text), None
        ),
        timeout=REPLY_TIMEOUT,
    )


def finished(message: Message) -> bool:
    """Whether a streamed reply is complete: the stream stopped, or the last edit has no
    typing marker."""
    if message.stream_state == "streaming":
        return False
    return TYPING_MARKER not in message.text and TYPING_MARKER not in everything_said(message)


def answers(stage: Stage, thread_ts: str, count: int = 1) -> list[Message]:
    """The app's first `count` replies in a thread, once each has finished streaming and the
    app is done with them.

    The app stores a reply in the conversation only after Slack shows it finished (so that a
    crash in between repeats the answer rather than losing it; see handlers/slack/tasks/talk.py).
    A person reads an answer before writing back; a test writing back the moment the answer looks
    finished could be answered from a history that lacks it (PostgreSQL run: the model was shown
    "And of Spain?" without "Answer number 1."). So this also waits for the app's tasks to end.
    """

    def ready() -> list[Message]:
        found = [m for m in stage.thread(thread_ts) if m.by_app]
        return found if len(found) >= count and all(finished(m) for m in found) else []

    shown = stage.slack.wait_for(ready, timeout=REPLY_TIMEOUT)
    stage.slack.wait_for(lambda: not stage.pending_tasks(), timeout=REPLY_TIMEOUT)
    return shown


def test_a_bound_channel_answers_mentions_in_threads_and_keeps_the_conversation(stage: Stage):
    model = tuned_model(stage)
    prompts = Prompts()
    stage.openai.chat_reply = prompts

    announced = bind(stage, f'use {model} system="You answer briefly." temperature=0.3')
    root = stage.slack.mention(ALICE, stage.channel, "What is 2 + 2?")
    (first,) = answers(stage, root)
    stage.slack.post_as_user(BOB, stage.channel, "And 3 + 3?", thread_ts=root)
    second = answers(stage, root, 2)[1]

    assert model in announced.text and "temperature 0.3" in announced.text
    assert "Answer number 1." in first.text and "Answer number 2." in second.text
    assert prompts.seen[-1] == [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "Answer number 1."},
        {"role": "user", "content": "And 3 + 3?"},
    ]
    assert model in stage.command("status")[1]


def test_a_thread_that_is_not_a_conversation_is_left_alone(stage: Stage):
    bind(stage, f"use {tuned_model(stage)}")
    before = len(stage.openai.requests)

    root = stage.slack.post_as_user(ALICE, stage.channel, "Lunch at noon?")
    stage.slack.post_as_user(BOB, stage.channel, "Sure", thread_ts=root)

    assert stays(
        lambda: (
            not any(m.by_app for m in stage.thread(root)) and len(stage.openai.requests) == before
        ),
        1.5,
    )


def test_other_bots_and_our_own_messages_never_continue_a_conversation(stage: Stage):
    bind(stage, f"use {tuned_model(stage)}")
    prompts = Prompts()
    stage.openai.chat_reply = prompts
    stage.slack.echo_app_events = True  # our own posts and edits come back as events, as on Slack
    try:
        root = stage.slack.mention(ALICE, stage.channel, "Hi")
        answers(stage, root)
        stage.slack.deliver_event(
            {
                "type": "message",
                "channel": stage.channel,
                "user": "U0OTHERBOT",
                "bot_id": "B0OTHER",
                "text": "I am another bot",
                "ts": "1999999999.000100",
                "thread_ts": root,
                "channel_type": "channel",
            }
        )
        assert stays(lambda: len(prompts.seen) == 1, 2.0), prompts.seen
    finally:
        stage.slack.echo_app_events = False


def test_unbinding_stops_new_conversations_and_says_so(stage: Stage):
    model = tuned_model(stage)
    bind(stage, f"use {model}")

    stage.command("use off")
    stage.slack.wait_for(
        lambda: any(":broken_chain:" in m.text for m in stage.channel_messages()),
        timeout=REPLY_TIMEOUT,
    )
    root = stage.slack.mention(ALICE, stage.channel, "Still there?")

    assert "No model is bound here" in stage.ephemeral("No model is bound").text
    assert stays(lambda: not any(m.by_app for m in stage.thread(root)))


def test_a_thread_can_be_bound_on_its_own(stage: Stage):
    model = tuned_model(stage)
    root = stage.slack.post_as_user(ALICE, stage.channel, "Let's try the new model here")

    stage.slack.mention(ALICE, stage.channel, f"use {model}", thread_ts=root)
    stage.slack.wait_for(lambda: any(":link:" in m.text for m in stage.thread(root)), 10)
    stage.slack.mention(ALICE, stage.channel, "Hello?", thread_ts=root)
    elsewhere = stage.slack.mention(ALICE, stage.channel, "Anyone?")

    assert any("Hello from the emulated model." in m.text for m in answers(stage, root, 2))
    assert "No model is bound here" in stage.ephemeral("No model is bound").text
    assert not any(m.by_app for m in stage.thread(elsewhere))


def test_replies_stream_natively_where_the_workspace_allows_it(stage: Stage):
    bind(stage, f"use {tuned_model(stage)}")
    stage.openai.chat_reply = " ".join(f"word{i}" for i in range(60))
    stage.openai.tokens_per_second = 60.0

    root = stage.slack.mention(ALICE, stage.channel, "Count for me")
    (reply,) = answers(stage, root)

    assert reply.text.startswith("word0 word1") and "word59" in reply.text
    appends = [c for c in stage.api_calls("chat.appendStream") if c.params.get("ts") == reply.ts]
    assert 1 <= len(appends) <= 8, len(appends)  # ~1 s of tokens, one append per 0.3 s at most


def test_without_native_streaming_the_reply_is_edited_in_place_as_mrkdwn(stage: Stage):
    bind(stage, f"use {tuned_model(stage)}")
    stage.slack.disable_streaming()
    stage.openai.chat_reply = "Here is **bold** and a [link](https://example.com). " * 10
    stage.openai.tokens_per_second = 80.0

    root = stage.slack.mention(ALICE, stage.channel, "Format something")
    (reply,) = answers(stage, root)

    assert "*bold*" in everything_said(reply) and "**bold**" not in everything_said(reply)
    assert "<https://example.com|link>" in everything_said(reply)
    updates = [c for c in stage.api_calls("chat.update") if c.params.get("ts") == reply.ts]
    assert updates, "the reply should grow by edits"
    assert not stage.api_calls("chat.startStream") or all(
        not c.ok for c in stage.api_calls("chat.startStream")
    )


def test_a_long_answer_is_split_across_messages(stage: Stage):
    bind(stage, f"use {tuned_model(stage)}")
    stage.slack.disable_streaming()
    paragraph = "This sentence is part of a very long answer. " * 20
    stage.openai.chat_reply = "\n\n".join([paragraph] * 12)  # ~11,000 characters

    root = stage.slack.mention(ALICE, stage.channel, "Write a lot")
    replies = answers(stage, root, 3)

    assert all(len(m.text) <= 4000 for m in replies)
    joined = " ".join(m.text for m in replies)
    assert joined.count("This sentence is part of a very long answer.") == 240


def test_ask_answers_in_the_channel_and_the_thread_continues(stage: Stage):
    model = tuned_model(stage)
    prompts = Prompts()
    stage.openai.chat_reply = prompts

    stage.command(f"ask {model} What's the capital of France?")
    question = stage.slack.wait_for(
        lambda: next((m for m in stage.channel_messages() if m.by_app and "asked" in m.text), None),
        timeout=REPLY_TIMEOUT,
    )
    answers(stage, question.ts)
    stage.slack.post_as_user(ALICE, stage.channel, "And of Spain?", thread_ts=question.ts)
    answers(stage, question.ts, 2)

    assert "What's the capital of France?" in question.text and model in question.text
    assert [m["content"] for m in prompts.seen[-1]] == [
        "What's the capital of France?",
        "Answer number 1.",
        "And of Spain?",
    ]


def test_a_private_question_is_answered_only_to_the_asker(stage: Stage):
    stage.openai.chat_reply = "Only you can see this."

    status, _ = stage.command("ask gpt-4o-mini Is this private? --private")

    post = stage.slack.wait_for(
        lambda: next(
            (p for p in stage.response_posts() if "Only you can see" in str(p.body.get("text"))),
            None,
        ),
        timeout=REPLY_TIMEOUT,
    )
    assert status == 200 and post.body.get("response_type") == "ephemeral"
    assert stays(lambda: not any(m.by_app for m in stage.channel_messages()))


def test_compare_shows_both_answers_side_by_side(stage: Stage):
    model = tuned_model(stage)
    stage.openai.chat_reply = "Same words from both."

    stage.command(f"compare {model} gpt-4o-mini Which is better?")

    def board() -> Message | None:
        for message in stage.channel_messages():
            said = everything_said(message)
            if message.by_app and "compared on" in said and said.count("Same words") == 2:
                return message
        return None

    shown = everything_said(stage.slack.wait_for(board, timeout=REPLY_TIMEOUT))
    assert model in shown and "gpt-4o-mini-2024-07-18" in shown


def test_ask_without_a_model_in_an_unbound_channel_says_what_to_do(stage: Stage):
    stage.command("ask why is the sky blue?")

    post = stage.slack.wait_for(
        lambda: next(
            (p for p in stage.response_posts() if "No model is bound" in str(p.body.get("text"))),
            None,
        ),
        timeout=REPLY_TIMEOUT,
    )
    assert "/finetune use MODEL" in str(post.body["text"])


# -- errors ----------------------------------------------------------------------------------


def test_a_deleted_model_gets_a_clear_message_and_the_thread_can_go_on(stage: Stage):
    model = tuned_model(stage)
    bind(stage, f"use {model}")
    root = stage.slack.mention(ALICE, stage.channel, "First question")
    answers(stage, root)

    stage.openai.app.state.models.pop(model)
    stage.slack.post_as_user(ALICE, stage.channel, "Second question", thread_ts=root)
    failed = answers(stage, root, 2)[1]
    replacement = tuned_model(stage)
    bind_in_thread = stage.slack.mention(ALICE, stage.channel, f"use {replacement}", thread_ts=root)
    stage.slack.wait_for(lambda: sum(":link:" in m.text for m in stage.thread(root)) == 1, 10)
    stage.slack.post_as_user(ALICE, stage.channel, "Third question", thread_ts=root)

    assert "no longer exists" in everything_said(failed) or "does not exist" in everything_said(
        failed
    )
    assert bind_in_thread
    final = answers(stage, root, 4)[-1]
    assert "Hello from the emulated model." in final.text


def test_running_out_of_quota_is_explained_in_the_thread(stage: Stage):
    bind(stage, f"use {tuned_model(stage)}")
    stage.openai.inject(
        r"/v1/chat/completions",
        429,
        count=10,
        body={
            "error": {
                "message": "You exceeded your current quota, please check your plan.",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            }
        },
    )

    root = stage.slack.mention(ALICE, stage.channel, "Anything")
    (reply,) = answers(stage, root)

    assert "quota" in everything_said(reply).lower()


def test_a_model_that_is_not_ready_cannot_be_bound(stage: Stage):

    stage.openai.script = JobScript(manual=True)
    shared = stage.share("train.jsonl", chat_jsonl())
    stage.report(shared)
    stage.command("start")
    job = job_id(everything_said(stage.replies(shared.ts, count=2)[1]))

    stage.command(f"use {job}")

    post = stage.slack.wait_for(
        lambda: next((p for p in stage.response_posts() if job in str(p.body.get("text"))), None),
        timeout=REPLY_TIMEOUT,
    )
    assert "no model to talk to yet" in str(post.body["text"])
    assert f"/finetune status {job}" in str(post.body["text"])
    assert not any(":link:" in m.text for m in stage.channel_messages())


def test_a_long_conversation_is_trimmed_to_the_context_window(stage: Stage):
    bind(stage, f'use {tuned_model(stage)} system="Keep me."')
    prompts = Prompts("ok")
    stage.openai.chat_reply = prompts
    stage.openai.context_window = 1200
    root = stage.slack.mention(ALICE, stage.channel, "word " * 300)
    answers(stage, root)
    for n in range(4):
        stage.slack.post_as_user(ALICE, stage.channel, f"message {n} " + "word " * 300, root)
        answers(stage, root, n + 2)

    last = prompts.seen[-1]
    assert last[0] == {"role": "system", "content": "Keep me."}
    assert last[-1]["content"].startswith("message 3")
    assert len(last) < 10, "older turns should have been dropped"
    assert "left out to fit" in everything_said(answers(stage, root, 5)[-1])


def test_a_single_message_too_long_for_the_model_is_refused_kindly(stage: Stage):
    bind(stage, f"use {tuned_model(stage)}")
    stage.openai.context_window = 500

    root = stage.slack.mention(ALICE, stage.channel, "word " * 2000)
    (reply,) = answers(stage, root)

    assert "too long" in everything_said(reply).lower()


# -- the success notice's buttons and legacy models --------------------------------------------


def test_the_success_notice_binds_the_channel_and_compares_with_the_base(stage: Stage):

    stage.openai.script = FAST_JOBS
    shared = stage.share("train.jsonl", chat_jsonl())
    stage.report(shared)
    stage.command("start")

    def notice() -> Message | None:
        return next(
            (
                m
                for m in stage.thread(shared.ts)
                if (m.metadata or {}).get("event_type") == "tunebot_notice"
            ),
            None,
        )

    found = stage.slack.wait_for(notice, timeout=30)
    assert stage.click(found, "use_model_here")[0] == 200
    bound = stage.slack.wait_for(
        lambda: next((m for m in stage.channel_messages() if ":link:" in m.text), None), 10
    )
    assert "ft:" in bound.text

    assert stage.click(found, "compare_with_base")[0] == 200
    view = stage.slack.wait_for(
        lambda: next(
            (
                v
                for v in stage.slack.views
                if v.payload.get("callback_id") == "compare_with_base_modal"
            ),
            None,
        ),
        10,
    )
    stage.slack.submit_view(
        ALICE,
        view.id,
        {"question": {"value": {"type": "plain_text_input", "value": "Which is better?"}}},
    )

    def board() -> Message | None:
        return next(
            (
                m
                for m in stage.thread(shared.ts)
                if "compared on" in everything_said(m) and TYPING_MARKER not in everything_said(m)
            ),
            None,
        )

    shown = everything_said(stage.slack.wait_for(board, timeout=REPLY_TIMEOUT))
    assert "ft:" in shown and "gpt-4o-mini" in shown


def test_a_legacy_classifier_answers_with_its_class_and_probability(stage: Stage):

    stage.openai.script = FAST_JOBS
    tag = salt()
    rows = [
        {
            "prompt": f"Review {i} [{tag}]: {'great' if i % 2 else 'awful'}\n\n###\n\n",
            "completion": " positive\n" if i % 2 else " negative\n",
        }
        for i in range(16)
    ]
    content = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
    shared = stage.share("reviews.jsonl", content)
    report = stage.report(shared)
    stage.command(f"start {dataset_id(report)} model=babbage-002")
    prompts = Prompts(" positive")
    stage.openai.chat_reply = prompts

    def notice() -> Message | None:
        return next(
            (
                m
                for m in stage.thread(shared.ts)
                if (m.metadata or {}).get("event_type") == "tunebot_notice"
            ),
            None,
        )

    stage.click(stage.slack.wait_for(notice, timeout=30), "use_model_here")
    stage.slack.wait_for(lambda: any(":link:" in m.text for m in stage.channel_messages()), 10)
    root = stage.slack.mention(ALICE, stage.channel, "Review: I loved it")
    (reply,) = answers(stage, root)

    said = everything_said(reply)
    assert "positive" in said and "%" in said
    assert prompts.seen[-1][0]["content"] == "Review: I loved it\n\n###\n\n"
    asked = [c.body for c in stage.openai.completions if c.endpoint == "completions"][-1]
    assert asked["stop"] in ("\n", ["\n"]) and asked["max_tokens"] == 1 and asked["logprobs"]
