"""Streaming a model's reply into a Slack thread, against the Slack emulator over HTTP: natively
where the workspace allows it, by posting and editing where it does not."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.common.splitting import open_fence
from handlers.slack.blocks.limits import MAX_MESSAGE_TEXT, STREAM_MESSAGE_MARKDOWN
from handlers.slack.clients import SlackClients
from handlers.slack.mrkdwn import to_mrkdwn
from handlers.slack.streaming import (
    NO_ANSWER,
    TYPING_MARKER,
    NativeStreamingMemo,
    ReplyStream,
    ReplyStreamer,
)
from tests.emulators.slack_emulator import ALICE, GENERAL, Message, SlackEmulator

TEAM = "T001"
FENCE_LINE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*$", re.MULTILINE)


class FakeClock:
    """Time that moves only when the test (or a retry's sleep) says so."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(team_id=TEAM) as emulator:
        yield emulator


@pytest.fixture
def clients(slack: SlackEmulator) -> SlackClients:
    return SlackClients(slack.api_url, token=slack.bot_token)


@pytest.fixture
def client(clients: SlackClients) -> WebClient:
    """The workspace's client, as the streamer gets it, for the test's own calls."""
    return clients.for_team(TEAM)


@pytest.fixture
def memo() -> NativeStreamingMemo:
    return NativeStreamingMemo()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def streamer(clients: SlackClients, memo: NativeStreamingMemo, clock: FakeClock) -> ReplyStreamer:
    return ReplyStreamer(clients, memo, update_interval=1.0, clock=clock, sleep=clock.sleep)


def open_reply(slack: SlackEmulator, streamer: ReplyStreamer) -> tuple[str, ReplyStream]:
    parent = slack.post_as_user(ALICE, GENERAL, "What does the loss curve say?")
    stream = streamer.open(channel=GENERAL, thread_ts=parent, team_id=TEAM, user_id=ALICE)
    return parent, stream


def replies(slack: SlackEmulator, parent: str) -> list[Message]:
    return slack.messages(GENERAL, thread_ts=parent)[1:]


def tokens_of(answer: str) -> list[str]:
    """Model-sized pieces whose concatenation is exactly the answer."""
    return re.findall(r"\s*\S{1,6}", answer) + re.findall(r"\s*$", answer)[:1]


def words(text: str) -> list[str]:
    return FENCE_LINE.sub("", text).split()


def short_answer(n_tokens: int) -> str:
    return " ".join(f"**tok{i}**" if i % 50 == 0 else f"tok{i}" for i in range(n_tokens))


def long_answer(chars: int) -> str:
    parts: list[str] = []
    n = 0
    while sum(len(part) + 2 for part in parts) < chars:
        n += 1
        if n % 3 == 0:
            rows = "\n".join(f"row_{n}_{i} = value({i}) ** 2  # <{i}> & note" for i in range(12))
            parts.append(f"```python\n{rows}\n```")
        else:
            parts.append(f"Paragraph {n} explains **step {n}** in several plain words. " * 4)
    return "\n\n".join(part.strip() for part in parts)


def feed(stream: ReplyStream, tokens: list[str], clock: FakeClock, step: float) -> None:
    for token in tokens:
        clock.now += step
        stream.append(token)


def context_text(message: Message) -> str:
    assert message.blocks is not None
    last = message.blocks[-1]
    assert last["type"] == "context"
    return str(last["elements"][0]["text"])


# -- native streaming ------------------------------------------------------------------------


def test_native_reply_holds_the_whole_answer_for_a_handful_of_calls(
    slack: SlackEmulator, clients: SlackClients, memo: NativeStreamingMemo
) -> None:
    streamer = ReplyStreamer(clients, memo)  # the real clock: 500 tokens as fast as they come
    parent, stream = open_reply(slack, streamer)
    answer = short_answer(500)
    for token in tokens_of(answer):
        stream.append(token)
    posted = stream.finish(footer="`ft:gpt-4o-mini:acme::abc` · 500 tokens")

    [reply] = replies(slack, parent)
    assert reply.text == answer
    assert reply.stream_state == "stopped" and reply.thread_ts == parent
    assert context_text(reply) == "`ft:gpt-4o-mini:acme::abc` · 500 tokens"
    assert posted == stream.message_ts == [reply.ts]
    streaming_calls = [c for c in slack.calls if c.method.startswith("chat.")]
    assert stream.calls == len(streaming_calls) <= 3
    assert streaming_calls[0].params["recipient_team_id"] == TEAM
    assert streaming_calls[0].params["recipient_user_id"] == ALICE
    assert memo.works(TEAM) is True


def test_native_reply_shows_the_first_token_at_once_then_appends_once_per_interval(
    slack: SlackEmulator, streamer: ReplyStreamer, clock: FakeClock
) -> None:
    parent, stream = open_reply(slack, streamer)
    stream.append("Hello")
    [start] = slack.calls_to("chat.startStream")
    assert start.params["markdown_text"] == "Hello"

    tokens = [f" word{i}" for i in range(100)]
    feed(stream, tokens, clock, step=0.1)  # ten seconds of model output
    assert 9 <= len(slack.calls_to("chat.appendStream")) <= 11
    stream.finish()
    [reply] = replies(slack, parent)
    assert reply.text == "Hello" + "".join(tokens)
    assert len(slack.calls_to("chat.stopStream")) == 1


def test_rate_limited_appends_are_skipped_the_stream_slows_and_the_stop_lands(
    slack: SlackEmulator, streamer: ReplyStreamer, clock: FakeClock
) -> None:
    parent, stream = open_reply(slack, streamer)
    stream.append("Start")
    slack.inject("chat.appendStream", error="ratelimited", status=429, count=1)
    feed(stream, [f" w{i}" for i in range(60)], clock, step=0.1)  # six seconds
    appends = slack.calls_to("chat.appendStream")
    # t=1 refused (interval doubles to 2 s), then t=3 and t=5: one per two seconds.
    assert [c.error for c in appends] == ["ratelimited", None, None]
    slack.inject("chat.stopStream", error="ratelimited", status=429, count=3)
    stream.finish()
    [reply] = replies(slack, parent)
    assert reply.text == "Start" + "".join(f" w{i}" for i in range(60))
    assert reply.stream_state == "stopped" and len(clock.slept) == 1


def test_a_stream_slack_stopped_goes_on_in_a_new_message(
    slack: SlackEmulator, client: WebClient, streamer: ReplyStreamer, clock: FakeClock
) -> None:
    parent, stream = open_reply(slack, streamer)
    stream.append("First part.")
    [ts] = stream.message_ts
    client.chat_stopStream(channel=GENERAL, ts=ts)  # Slack ended it (a timeout, an admin...)
    feed(stream, [" Second", " part."], clock, step=1.0)
    stream.finish()
    first, second = replies(slack, parent)
    assert first.text == "First part." and second.text == "Second part."
    assert stream.message_ts == [first.ts, second.ts]


# -- refusal, memory and the fallback --------------------------------------------------------


@pytest.mark.parametrize(
    "refusal",
    ["not_allowed_token_type", "feature_not_enabled", "unknown_method", "invalid_arguments"],
)
def test_a_refusing_workspace_gets_posted_replies_and_is_not_asked_again(
    slack: SlackEmulator, streamer: ReplyStreamer, memo: NativeStreamingMemo, refusal: str
) -> None:
    slack.disable_streaming(refusal)
    parent, stream = open_reply(slack, streamer)
    answer = short_answer(500)
    for token in tokens_of(answer):
        stream.append(token)  # the fake clock stands still: all within one interval
    posted = stream.finish(footer="ft:model")

    [reply] = replies(slack, parent)
    assert reply.text == to_mrkdwn(answer)
    assert context_text(reply) == "ft:model" and posted == [reply.ts]
    assert memo.works(TEAM) is False
    # One refused startStream, the first text posted, the final update.
    assert [c.method for c in slack.calls] == [
        "chat.startStream",
        "chat.postMessage",
        "chat.update",
    ]
    assert stream.calls == 3

    parent2, second = open_reply(slack, streamer)
    second.append("Again")
    second.finish()
    assert len(slack.calls_to("chat.startStream")) == 1
    assert [m.text for m in replies(slack, parent2)] == ["Again"]


def test_channel_errors_are_not_taken_for_a_refusal(
    slack: SlackEmulator, streamer: ReplyStreamer, memo: NativeStreamingMemo
) -> None:
    slack.inject("chat.startStream", error="channel_type_not_supported", count=1)
    parent, stream = open_reply(slack, streamer)
    stream.append("Hi")
    stream.finish()
    assert [m.text for m in replies(slack, parent)] == ["Hi"]
    assert memo.works(TEAM) is None


def test_posted_replies_are_edited_once_per_interval_with_a_typing_marker(
    slack: SlackEmulator, streamer: ReplyStreamer, clock: FakeClock
) -> None:
    slack.disable_streaming()
    parent, stream = open_reply(slack, streamer)
    stream.append("Hello")
    [post] = slack.calls_to("chat.postMessage")
    assert post.params["text"] == f"Hello {TYPING_MARKER}"

    tokens = [f" **w{i}**" for i in range(100)]
    feed(stream, tokens, clock, step=0.1)
    assert 9 <= len(slack.calls_to("chat.update")) <= 11
    stream.finish()
    [reply] = replies(slack, parent)
    assert reply.text == to_mrkdwn("Hello" + "".join(tokens))
    shown = [edit.text for edit in reply.edits]
    assert all(text.endswith(TYPING_MARKER) for text in shown)
    assert [len(text) for text in shown] == sorted(len(text) for text in shown)


def test_rate_limited_edits_are_skipped_and_the_final_edit_lands(
    slack: SlackEmulator, streamer: ReplyStreamer, clock: FakeClock
) -> None:
    slack.disable_streaming()
    parent, stream = open_reply(slack, streamer)
    stream.append("Start")
    slack.inject("chat.update", error="ratelimited", status=429, count=1)
    tokens = [f" w{i}" for i in range(60)]
    feed(stream, tokens, clock, step=0.1)
    assert [c.error for c in slack.calls_to("chat.update")] == ["ratelimited", None, None]

    # The last edit meets three refusals: the client's own two retries wait them out, then ours.
    slack.inject("chat.update", error="ratelimited", status=429, count=3)
    stream.finish()
    [reply] = replies(slack, parent)
    assert reply.text == "Start" + "".join(tokens)
    assert len(clock.slept) == 1
    assert [c.ok for c in slack.calls_to("chat.update")][-4:] == [False, False, False, True]


# -- long answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("native", "chars", "limit"),
    [(True, 30_000, STREAM_MESSAGE_MARKDOWN), (False, 10_000, MAX_MESSAGE_TEXT)],
    ids=["native", "posted"],
)
def test_a_long_answer_continues_in_new_messages_with_balanced_code_fences(
    slack: SlackEmulator,
    streamer: ReplyStreamer,
    clock: FakeClock,
    native: bool,
    chars: int,
    limit: int,
) -> None:
    if not native:
        slack.disable_streaming()
    parent, stream = open_reply(slack, streamer)
    answer = long_answer(chars)
    feed(stream, tokens_of(answer), clock, step=0.01)
    posted = stream.finish(footer="ft:model")

    messages = replies(slack, parent)
    assert len(messages) >= 3 and posted == [m.ts for m in messages]
    for message in messages:
        assert 0 < len(message.text) <= limit
        assert open_fence(message.text) is None
        assert TYPING_MARKER not in message.text
    expected = answer if native else to_mrkdwn(answer)
    assert [w for m in messages for w in words(m.text)] == words(expected)
    assert context_text(messages[-1]) == "ft:model"
    assert all(m.blocks is None for m in messages[:-1])
    if native:
        assert all(m.stream_state == "stopped" for m in messages)
        assert not [c for c in slack.calls if not c.ok]
        assert sum(1 for m in messages[1:] if m.text.startswith("```python\n")) >= 1


def test_the_emulator_refuses_a_streamed_message_past_12000_characters(
    slack: SlackEmulator, client: WebClient
) -> None:
    parent = slack.post_as_user(ALICE, GENERAL, "q")
    ts = client.chat_startStream(
        channel=GENERAL,
        thread_ts=parent,
        markdown_text="x" * 6_000,
        recipient_team_id=TEAM,
        recipient_user_id=ALICE,
    )["ts"]
    client.chat_appendStream(channel=GENERAL, ts=ts, markdown_text="y" * 6_000)
    with pytest.raises(SlackApiError) as refused:
        client.chat_appendStream(channel=GENERAL, ts=ts, markdown_text="z")
    assert refused.value.response["error"] == "msg_too_long"


# -- failures and empty answers --------------------------------------------------------------


@pytest.mark.parametrize("native", [True, False], ids=["native", "posted"])
def test_a_failure_before_any_text_posts_just_the_note(
    slack: SlackEmulator, streamer: ReplyStreamer, native: bool
) -> None:
    if not native:
        slack.disable_streaming()
    parent, stream = open_reply(slack, streamer)
    posted = stream.fail(":warning: The model did not answer in time.")
    [note] = replies(slack, parent)
    assert note.text == ":warning: The model did not answer in time."
    assert posted == [note.ts]
    assert not slack.calls_to("chat.startStream")


@pytest.mark.parametrize("native", [True, False], ids=["native", "posted"])
def test_a_failure_midway_keeps_the_text_and_adds_the_note(
    slack: SlackEmulator, streamer: ReplyStreamer, clock: FakeClock, native: bool
) -> None:
    if not native:
        slack.disable_streaming()
    parent, stream = open_reply(slack, streamer)
    feed(stream, ["The loss", " falls", " **steadily**"], clock, step=0.7)
    posted = stream.fail(":warning: Connection lost.")
    [reply] = replies(slack, parent)
    written = "The loss falls **steadily**"
    assert reply.text == (written if native else to_mrkdwn(written))
    assert context_text(reply) == ":warning: Connection lost."
    assert posted == [reply.ts]
    with pytest.raises(RuntimeError):
        stream.append("more")


@pytest.mark.parametrize("native", [True, False], ids=["native", "posted"])
def test_an_empty_answer_posts_a_short_note(
    slack: SlackEmulator, streamer: ReplyStreamer, native: bool
) -> None:
    if not native:
        slack.disable_streaming()
    parent, stream = open_reply(slack, streamer)
    stream.append("  \n")
    posted = stream.finish(footer="ft:model")
    [note] = replies(slack, parent)
    assert note.text == NO_ANSWER and context_text(note) == "ft:model"
    assert posted == [note.ts]
    assert [c.method for c in slack.calls] == ["chat.postMessage"]
