"""Streaming replies into Slack: how soon people see the model's words, and what it costs.

In one run, `--conversations` people mention the bot at the same moment, each in a channel bound
to a model; the OpenAI emulator streams every reply (`--tokens` tokens at `--rate` tokens/s).
Measured per reply, from the emulator's own clock of when each token left it and the Slack
emulator's record of when each call arrived:
  first   the model's first token -> the first Slack call that shows text (startStream/postMessage)
  final   the model's last token  -> the call that completes the message (stopStream/last update)
  calls   Slack API calls the reply made, and how many were refused with 429
Three setups, each on fresh emulators and a fresh database:
  native    `tunebot serve`, the workspace has native streaming (chat.startStream & co.)
  fallback  `tunebot serve`, the workspace refuses it: post, then chat.update
  bare      baseline in this process: a minimal bridge that posts on the first token and
            edits once at the end (the fewest calls any streaming reply can make), with no
            database, no task queue and no pacing, to show what tunebot's machinery costs
The Slack emulator enforces per-workspace limits per method as Slack documents them: chat.update
is Tier 3 (50 per minute), chat.appendStream is taken as Tier 4 (100 per minute). The bare bridge
runs without limits.

Targets from the issue: first visible update within 500 ms, final within 1 s (p99), and no Slack
rate-limit errors.

Run: .venv/bin/python bench/chat_bench.py [--conversations N] [--tokens T] [--rate R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
from slack_sdk import WebClient

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # The emulators and the process helpers live in the test tree, which is not installed.
    sys.path.append(str(REPO_ROOT))

from tests.e2e.deployment import running_bot  # noqa: E402
from tests.e2e.process import BOT_TOKEN, OPENAI_KEY, SIGNING_SECRET  # noqa: E402
from tests.emulators.openai_emulator import OpenAIEmulator  # noqa: E402
from tests.emulators.slack_emulator import ALICE, BOT_USER_ID, SlackEmulator  # noqa: E402

MODEL = "gpt-4o-mini"
SLACK_LIMITS = {"chat.update": 50, "chat.appendStream": 100}
"""Per minute, per workspace, as Slack's documentation tiers them (see the module docstring)."""
SHOWING_CALLS = ("chat.startStream", "chat.postMessage")
REPLY_CALLS = frozenset(
    {"chat.startStream", "chat.appendStream", "chat.stopStream", "chat.postMessage", "chat.update"}
)
FIRST_TARGET_S = 0.5
FINAL_TARGET_S = 1.0


@dataclass
class Reply:
    channel: str
    first_token: float
    last_token: float
    first_shown: float
    final_shown: float
    calls: int
    refused: int

    @property
    def first(self) -> float:
        return self.first_shown - self.first_token

    @property
    def final(self) -> float:
        return self.final_shown - self.last_token


@dataclass
class Outcome:
    setup: str
    replies: list[Reply] = field(default_factory=list)
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        firsts = sorted(r.first for r in self.replies)
        finals = sorted(r.final for r in self.replies)
        calls = [r.calls for r in self.replies]
        return {
            "setup": self.setup,
            "replies": len(self.replies),
            "first_p50_ms": round(1000 * percentile(firsts, 50), 1),
            "first_p99_ms": round(1000 * percentile(firsts, 99), 1),
            "final_p50_ms": round(1000 * percentile(finals, 50), 1),
            "final_p99_ms": round(1000 * percentile(finals, 99), 1),
            "calls_per_reply": round(statistics.mean(calls), 2) if calls else 0,
            "calls_max": max(calls, default=0),
            "rate_limited": sum(r.refused for r in self.replies),
            "seconds": round(self.seconds, 2),
        }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[index]


def answer_text(tokens: int) -> str:
    """A reply of exactly `tokens` emulator tokens (a word each), with a little Markdown."""
    words = [f"word{i}" for i in range(tokens)]
    words[0] = "**Answer**"
    return " ".join(words)


def channels(count: int) -> list[str]:
    return [f"CB{n:07d}" for n in range(count)]


# -- tunebot ------------------------------------------------------------------------------------


@contextmanager
def emulators(tokens: int, rate: float) -> Iterator[tuple[SlackEmulator, OpenAIEmulator]]:
    with (
        SlackEmulator(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET) as slack,
        OpenAIEmulator(
            api_key=OPENAI_KEY, chat_reply=answer_text(tokens), tokens_per_second=rate
        ) as model,
    ):
        yield slack, model


def arrive(slack: SlackEmulator, names: list[str], spread: float) -> None:
    """Each person mentions the bot in their channel: all at once (`spread` 0) or at even
    intervals over `spread` seconds."""
    start = time.monotonic()
    threads = []
    for n, name in enumerate(names):
        delay = start + spread * n / max(1, len(names)) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(
            target=slack.mention, args=(ALICE, name, f"conversation {name}: go")
        )
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()


def run_tunebot(setup: str, conversations: int, tokens: int, rate: float, spread: float) -> Outcome:
    outcome = Outcome(setup)
    with (
        emulators(tokens, rate) as (slack, model),
        tempfile.TemporaryDirectory(prefix="chat-bench-") as folder,
    ):
        data = Path(folder)
        env = {
            "TUNEBOT_CHAT_WORKERS": str(conversations + 4),
            "TUNEBOT_POLL_SECONDS": "3600",
        }
        with running_bot(slack, model, f"sqlite:///{data / 'tunebot.db'}", data, env):
            names = channels(conversations)
            for name in names:
                slack.add_channel(name, name.lower(), members={ALICE, BOT_USER_ID})
                status, _ = slack.slash_command(ALICE, name, f"use {MODEL}")
                assert status == 200
            slack.wait_for(lambda: len(bound(slack, names)) == len(names), timeout=60)
            if setup == "fallback":
                slack.disable_streaming()
            for method, per_minute in SLACK_LIMITS.items():
                slack.rate_limit(method, per_minute)
            since = time.time()
            started = time.monotonic()
            arrive(slack, names, spread)
            slack.wait_for(lambda: all(finished(slack, name) for name in names), timeout=120)
            outcome.seconds = time.monotonic() - started
            outcome.replies = collect(slack, model, names, since)
    return outcome


def bound(slack: SlackEmulator, names: list[str]) -> list[str]:
    return [n for n in names if any(":link:" in m.text for m in slack.messages(n))]


def finished(slack: SlackEmulator, channel: str) -> bool:
    """The reply in the channel's thread is complete (its stream stopped, or it has a footer)."""
    for message in slack.messages(channel):
        if message.thread_ts and message.bot_id and message.ts != message.thread_ts:
            if message.stream_state == "stopped":
                return True
            blocks = message.blocks or []
            if message.stream_state is None and any(b.get("type") == "context" for b in blocks):
                return True
    return False


def collect(
    slack: SlackEmulator, model: OpenAIEmulator, names: list[str], since: float
) -> list[Reply]:
    records = {_conversation_of(r.body): r for r in model.completions if _conversation_of(r.body)}
    calls = [c for c in slack.calls if c.time >= since and c.method in REPLY_CALLS]
    replies = []
    for name in names:
        record = records[name]
        mine = [c for c in calls if c.params.get("channel") == name]
        shown = [c for c in mine if c.method in SHOWING_CALLS and c.ok]
        assert record.first_token_at and record.last_token_at and shown, name
        replies.append(
            Reply(
                channel=name,
                first_token=record.first_token_at,
                last_token=record.last_token_at,
                first_shown=shown[0].time,
                final_shown=max(c.time for c in mine if c.ok),
                calls=len(mine),
                refused=sum(1 for c in mine if c.status == 429),
            )
        )
    return replies


def _conversation_of(body: dict[str, Any]) -> str | None:
    for message in body.get("messages") or []:
        content = str(message.get("content") or "")
        if content.startswith("conversation "):
            return content.split()[1].rstrip(":")
    return None


# -- the bare bridge ----------------------------------------------------------------------------


def run_bare(conversations: int, tokens: int, rate: float, spread: float) -> Outcome:
    """The bare bridge, in a process of its own like tunebot, against fresh emulators."""
    outcome = Outcome("bare")
    with emulators(tokens, rate) as (slack, model):
        names = channels(conversations)
        roots = {}
        for name in names:
            slack.add_channel(name, name.lower(), members={ALICE, BOT_USER_ID})
            roots[name] = slack.post_as_user(ALICE, name, f"conversation {name}: go")
        job = {
            "slack_url": slack.api_url,
            "openai_url": model.base_url,
            "roots": roots,
            "spread": spread,
        }
        since = time.time()
        started = time.monotonic()
        subprocess.run(
            [sys.executable, __file__, "--bare-bridge"],
            input=json.dumps(job),
            text=True,
            check=True,
        )
        outcome.seconds = time.monotonic() - started
        outcome.replies = collect(slack, model, names, since)
    return outcome


def bare_bridge(job: dict[str, Any]) -> None:
    """Post on the first token, edit once at the end: the fewest calls a streamed reply can
    make. Threads, one per conversation, started as the arrivals say."""
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=job["openai_url"])
    web = WebClient(token=BOT_TOKEN, base_url=job["slack_url"])
    roots: dict[str, str] = job["roots"]

    def bridge(name: str) -> None:
        stream = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": f"conversation {name}: go"}],
            stream=True,
        )
        text, ts = "", None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
                if ts is None:
                    ts = web.chat_postMessage(channel=name, thread_ts=roots[name], text=text)["ts"]
        web.chat_update(channel=name, ts=ts, text=text)

    started = time.monotonic()
    threads = []
    for n, name in enumerate(roots):
        delay = started + job["spread"] * n / max(1, len(roots)) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        threads.append(threading.Thread(target=bridge, args=(name,)))
        threads[-1].start()
    for thread in threads:
        thread.join()


# -- report -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=120, help="tokens per reply")
    parser.add_argument("--rate", type=float, default=40.0, help="tokens per second")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--bare-bridge", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_bridge:
        bare_bridge(json.loads(sys.stdin.read()))
        return

    writing = args.tokens / args.rate
    print(
        f"{args.conversations} concurrent conversations, {args.tokens} tokens per reply at "
        f"{args.rate:g} tokens/s (~{writing:.1f} s of writing each)"
    )
    results: dict[str, list[dict[str, Any]]] = {}
    for arrival, spread in (("steady", writing), ("burst", 0.0)):
        outcomes = [
            run_bare(args.conversations, args.tokens, args.rate, spread),
            run_tunebot("native", args.conversations, args.tokens, args.rate, spread),
            run_tunebot("fallback", args.conversations, args.tokens, args.rate, spread),
        ]
        results[arrival] = [o.figures() for o in outcomes]
        report(arrival, spread, results[arrival])
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))


def report(arrival: str, spread: float, figures: list[dict[str, Any]]) -> None:
    how = f"mentions spread evenly over {spread:.1f} s" if spread else "all mentions at once"
    print(f"\n{arrival}: {how}")
    print(
        f"{'setup':9} {'first p50':>10} {'first p99':>10} {'final p50':>10} {'final p99':>10} "
        f"{'calls/reply':>12} {'429s':>5} {'first p99/bare':>15} {'final p99/bare':>15}"
    )
    bare = figures[0]
    for row in figures:
        first = row["first_p99_ms"] / bare["first_p99_ms"] if bare["first_p99_ms"] else 0
        final = row["final_p99_ms"] / bare["final_p99_ms"] if bare["final_p99_ms"] else 0
        print(
            f"{row['setup']:9} {row['first_p50_ms']:>8.0f}ms {row['first_p99_ms']:>8.0f}ms "
            f"{row['final_p50_ms']:>8.0f}ms {row['final_p99_ms']:>8.0f}ms "
            f"{row['calls_per_reply']:>12.2f} {row['rate_limited']:>5} {first:>15.2f} "
            f"{final:>15.2f}"
        )
    for row in figures[1:]:
        met = (
            row["first_p99_ms"] <= FIRST_TARGET_S * 1000
            and row["final_p99_ms"] <= FINAL_TARGET_S * 1000
            and row["rate_limited"] == 0
        )
        verdict = "PASS" if met else "MISS"
        print(f"  {row['setup']}: {verdict} (first p99 <= 500 ms, final p99 <= 1 s, no 429)")


if __name__ == "__main__":
    main()
