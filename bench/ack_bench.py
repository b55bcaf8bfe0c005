"""Acknowledgement latency of `tunebot serve` under concurrent signed Slack requests.

In one run, against the same emulated Slack workspace:
  (a) the real `tunebot serve` process (uvicorn + Starlette + Bolt, SQLite in a temp folder, the
      Slack and OpenAI emulators as its upstreams), as deployed;
  (b) a bare Bolt app whose listeners only acknowledge, served exactly the same way (the
      project's own `bot.server.create_asgi_app` under uvicorn) in its own process.
Each round sends, per kind of request, a burst of `--concurrency` simultaneous signed requests to
each server in turn (the order alternates between rounds):
  help          `/finetune help`: parsed and answered inline
  status        `/finetune status`: answered inline from the database
  file_other    a `file_share` event for a picture: acknowledged, nothing to do
  file_dataset  a `file_share` event for a new small dataset: acknowledged, an intake task is
                written and started (download, validation and the report run in the background)
After a burst to tunebot the next one waits until its task queue is empty, so every burst starts
from an idle server and neither server is measured while the other one is still working.
Latency is the client's: from writing the request on an open connection to reading the whole
response (see `RawClient` for why the default load generator is not httpx). The JSON output also
keeps every burst's sorted latencies and start time, to line a slow burst up with server logs.

Targets from the issue: p99 under 300 ms, and within 2x of the bare app (checked on p50 and p99).

Run: .venv/bin/python bench/ack_bench.py [--rounds N] [--concurrency C] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from slack_sdk.signature import SignatureVerifier

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # The emulators and the process helpers live in the test tree, which is not installed.
    sys.path.append(str(REPO_ROOT))

from tests.e2e.process import (  # noqa: E402
    BOT_TOKEN,
    OPENAI_KEY,
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
    free_port,
)

KINDS = ("help", "status", "file_other", "file_dataset")
TARGETS = ("tunebot", "bare")
TARGET_P99_MS = 300.0
TARGET_RATIO = 2.0
COMMAND = "/finetune"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
START_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 60.0
PAUSE_BETWEEN_BURSTS_S = 0.2


# --- the child processes ----------------------------------------------------------------------


def serve_bare(port: int, slack_api_url: str) -> None:
    """(b): Bolt with listeners that only acknowledge, behind the project's ASGI adapter.

    Configured like tunebot's app where it matters for an ack: the same signing check, the same
    one-off `auth.test` at start (against the same emulator), and acks before processing.
    """
    import uvicorn
    from slack_bolt import Ack, App
    from slack_sdk import WebClient

    from bot.server import create_asgi_app

    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=slack_api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=False,
    )

    @app.command(COMMAND)
    def on_command(ack: Ack) -> None:
        ack()

    @app.event("message")
    def on_message() -> None:
        pass

    uvicorn.run(create_asgi_app(app), host="127.0.0.1", port=port, log_level="info")


def dataset_bytes(index: int, examples: int = 12) -> bytes:
    """A small valid chat dataset whose bytes differ per index, so each intake checks it anew."""
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "system", "content": "You answer briefly."},
                    {"role": "user", "content": f"File {index}: what is {n} + {n}?"},
                    {"role": "assistant", "content": f"{n + n}"},
                ]
            }
        )
        for n in range(examples)
    ]
    return ("\n".join(lines) + "\n").encode()


def serve_slack_emulator(files: int) -> None:
    """The Slack emulator in its own process, holding `files` shared datasets and one picture.

    Prints one JSON line (addresses, ids and the file_share events to send), then serves until
    its standard input closes. Its own process, so the files tunebot downloads and the reports it
    posts in the background do not compete with the load generator for one interpreter.
    """
    from tests.emulators.slack_emulator import ALICE, GENERAL, SlackEmulator

    with SlackEmulator(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET) as slack:
        picture = slack.share_file(ALICE, GENERAL, "team-photo.png", b"\x89PNG\r\n\x1a\n" * 64)
        datasets = [
            slack.share_file(ALICE, GENERAL, f"bench-{i}.jsonl", dataset_bytes(i))
            for i in range(files)
        ]
        shared_at = {file_id: m.ts for m in slack.messages(GENERAL) for file_id in m.files}

        def event(file: dict[str, Any]) -> dict[str, Any]:
            ts = shared_at[file["id"]]
            return {
                "type": "message",
                "subtype": "file_share",
                "text": "",
                "user": ALICE,
                "ts": ts,
                "event_ts": ts,
                "channel": GENERAL,
                "channel_type": "channel",
                "team": slack.team_id,
                "upload": False,
                "files": [file],
            }

        print(
            json.dumps(
                {
                    "api_url": slack.api_url,
                    "file_host": slack.file_host,
                    "team_id": slack.team_id,
                    "app_id": slack.app_id,
                    "bot_user_id": slack.bot_user_id,
                    "channel": GENERAL,
                    "user": ALICE,
                    "picture_event": event(picture),
                    "dataset_events": [event(file) for file in datasets],
                }
            ),
            flush=True,
        )
        sys.stdin.read()


# --- starting and stopping them ---------------------------------------------------------------


def child_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLACK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


@contextmanager
def child(args: list[str], log: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A child that prints one line when ready; yields it and that line, stops it after."""
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=REPO_ROOT,
            env=child_env(),
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                process.wait(timeout=10)
                raise RuntimeError(f"{args[0]} exited early:\n{log.read_text()}")
            yield process, line
        finally:
            stop(process)


def stop(process: subprocess.Popen[Any]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def bare_server(slack_api_url: str, log: Path) -> Iterator[str]:
    port = free_port()
    script = Path(__file__).resolve()
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                str(script),
                "--serve-bare",
                str(port),
                "--slack-api-url",
                slack_api_url,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=child_env(),
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, process, log)
            yield url
        finally:
            stop(process)


def wait_healthy(url: str, process: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the bare app exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"the bare app did not become healthy:\n{log.read_text()}")


# --- requests ---------------------------------------------------------------------------------


@dataclass
class Workspace:
    """What the Slack emulator child reported: enough to build the requests Slack would send."""

    api_url: str
    file_host: str
    team_id: str
    app_id: str
    bot_user_id: str
    channel: str
    user: str
    picture_event: dict[str, Any]
    dataset_events: list[dict[str, Any]]
    _next_dataset: dict[str, int] = field(default_factory=dict)

    def body(self, kind: str, target: str) -> tuple[bytes, str]:
        """A new request of `kind` (ids unique per request), and its content type."""
        if kind in ("help", "status"):
            return self._command(kind), "application/x-www-form-urlencoded"
        if kind == "file_other":
            event = self.picture_event
        else:
            index = self._next_dataset.get(target, 0)
            self._next_dataset[target] = index + 1
            event = self.dataset_events[index]
        return json.dumps(self._envelope(event)).encode(), "application/json"

    def _command(self, text: str) -> bytes:
        return urlencode(
            {
                "token": "bench-verification-token",
                "team_id": self.team_id,
                "team_domain": "bench",
                "channel_id": self.channel,
                "channel_name": "general",
                "user_id": self.user,
                "user_name": "alice",
                "command": COMMAND,
                "text": text,
                "api_app_id": self.app_id,
                "is_enterprise_install": "false",
                "response_url": f"{self.api_url}bench/response/{uuid.uuid4().hex}",
                "trigger_id": f"bench.{uuid.uuid4().hex}",
            }
        ).encode()

    def _envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": "bench-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }


def signed_headers(verifier: SignatureVerifier, body: bytes, content_type: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = verifier.generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


@dataclass
class Sample:
    seconds: float
    status: int  # 0: no answer
    error: str = ""  # why there was no answer


Request = tuple[bytes, dict[str, str]]


class RawClient:
    """A minimal HTTP/1.1 client on asyncio streams: the timer sees the server, not the client.

    Each burst opens one connection per request before any timer starts (as a proxy or Slack's
    pool holds them), then writes every request at once and times each until its whole answer is
    read. httpx was measured first: with 50 requests in flight its own work took p99 past 700 ms
    against an endpoint that does nothing (this client: under 50 ms), which would have hidden the
    servers being compared. `--client httpx` keeps that option.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout

    def __call__(self, url: str, requests: list[Request]) -> list[Sample]:
        return asyncio.run(self._burst(url, requests))

    def close(self) -> None:
        pass

    async def _burst(self, url: str, requests: list[Request]) -> list[Sample]:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        streams = [await asyncio.open_connection(host, port) for _ in requests]
        await asyncio.sleep(0.05)  # let the server accept them all before any timer starts
        try:
            return list(
                await asyncio.gather(
                    *(
                        self._post(reader, writer, f"{host}:{port}", parts.path, body, headers)
                        for (reader, writer), (body, headers) in zip(streams, requests, strict=True)
                    )
                )
            )
        finally:
            for _, writer in streams:
                writer.close()

    async def _post(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
    ) -> Sample:
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        message = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        started = time.perf_counter()
        try:
            writer.write(message)
            await writer.drain()
            status = await asyncio.wait_for(read_response(reader), self.timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            return Sample(time.perf_counter() - started, 0, type(exc).__name__)
        return Sample(time.perf_counter() - started, status)


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one whole HTTP/1.1 response; return its status."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    fields = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in head[1:] if line)
    }
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


class HttpxClient:
    """httpx, one client (and keep-alive connection) per concurrent slot, one thread each."""

    def __init__(self, concurrency: int, timeout: float = 30.0) -> None:
        # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them.
        limits = httpx.Limits(max_connections=1, keepalive_expiry=1.0)
        self.clients = [httpx.Client(timeout=timeout, limits=limits) for _ in range(concurrency)]

    def __call__(self, url: str, requests: list[Request]) -> list[Sample]:
        samples: list[Sample | None] = [None] * len(requests)
        start = threading.Barrier(len(requests) + 1)

        def send(slot: int) -> None:
            body, headers = requests[slot]
            start.wait()
            started = time.perf_counter()
            try:
                status = self.clients[slot].post(url, content=body, headers=headers).status_code
            except httpx.HTTPError as exc:
                samples[slot] = Sample(time.perf_counter() - started, 0, type(exc).__name__)
                return
            samples[slot] = Sample(time.perf_counter() - started, status)

        threads = [threading.Thread(target=send, args=(slot,)) for slot in range(len(requests))]
        for thread in threads:
            thread.start()
        start.wait()
        for thread in threads:
            thread.join()
        return [sample for sample in samples if sample is not None]

    def close(self) -> None:
        for client in self.clients:
            client.close()


# --- measuring --------------------------------------------------------------------------------


def pending_tasks(database: Path) -> int:
    """Tasks tunebot has not finished yet, read from its database (WAL lets us read alongside)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        row = connection.execute("SELECT count(*) FROM tasks WHERE status = 'pending'").fetchone()
        return int(row[0])


def task_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        rows = connection.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall()
        return {str(status): int(count) for status, count in rows}


def wait_drained(database: Path) -> float:
    """Seconds until tunebot's task queue is empty."""
    started = time.monotonic()
    while pending_tasks(database):
        if time.monotonic() - started > DRAIN_TIMEOUT_S:
            raise TimeoutError(f"tunebot still has {pending_tasks(database)} pending task(s)")
        time.sleep(0.02)
    return time.monotonic() - started


@dataclass
class Run:
    samples: dict[str, dict[str, list[Sample]]] = field(
        default_factory=lambda: {t: {k: [] for k in KINDS} for t in TARGETS}
    )
    drains: list[float] = field(default_factory=list)
    bursts: list[dict[str, Any]] = field(default_factory=list)


def measure(
    urls: dict[str, str],
    workspace: Workspace,
    database: Path,
    *,
    rounds: int,
    warmup: int,
    concurrency: int,
    client: str,
) -> Run:
    verifier = SignatureVerifier(SIGNING_SECRET)
    send = RawClient() if client == "raw" else HttpxClient(concurrency)
    run = Run()
    try:
        for number in range(warmup + rounds):
            order = TARGETS if number % 2 == 0 else TARGETS[::-1]
            for kind in KINDS:
                for target in order:
                    requests = []
                    for _ in range(concurrency):
                        body, content_type = workspace.body(kind, target)
                        requests.append((body, signed_headers(verifier, body, content_type)))
                    started = time.time()
                    samples = send(f"{urls[target]}/slack/events", requests)
                    if number >= warmup:
                        run.samples[target][kind].extend(samples)
                        run.bursts.append(
                            {
                                "round": number - warmup + 1,
                                "target": target,
                                "kind": kind,
                                "started": round(started, 3),
                                "ms": sorted(round(s.seconds * 1000, 1) for s in samples),
                            }
                        )
                    if target == "tunebot":
                        drained = wait_drained(database)
                        if kind == "file_dataset" and number >= warmup:
                            run.drains.append(drained)
                    time.sleep(PAUSE_BETWEEN_BURSTS_S)
    finally:
        send.close()
    return run


# --- figures ----------------------------------------------------------------------------------


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method: p100 is the maximum)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summarize(samples: list[Sample]) -> dict[str, Any]:
    ms = sorted(s.seconds * 1000 for s in samples)
    failed = Counter(s.error or str(s.status) for s in samples if s.status != 200)
    return {
        "requests": len(samples),
        "errors": sum(failed.values()),
        "error_statuses": dict(failed),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(ms[-1], 2),
    }


def figures(run: Run, args: argparse.Namespace, tasks: dict[str, int]) -> dict[str, Any]:
    per_kind: dict[str, Any] = {}
    for kind in (*KINDS, "all"):
        stats = {
            target: summarize(
                [s for k in KINDS for s in run.samples[target][k]]
                if kind == "all"
                else run.samples[target][kind]
            )
            for target in TARGETS
        }
        tune, bare = stats["tunebot"], stats["bare"]
        ratio_p50 = tune["p50_ms"] / bare["p50_ms"] if bare["p50_ms"] else float("inf")
        ratio_p99 = tune["p99_ms"] / bare["p99_ms"] if bare["p99_ms"] else float("inf")
        per_kind[kind] = {
            **stats,
            "ratio_p50": round(ratio_p50, 2),
            "ratio_p99": round(ratio_p99, 2),
            "p99_under_target": tune["p99_ms"] < TARGET_P99_MS and tune["errors"] == 0,
            "within_ratio": max(ratio_p50, ratio_p99) <= TARGET_RATIO,
        }
    return {
        "rounds": args.rounds,
        "client": args.client,
        "warmup_rounds": args.warmup,
        "concurrency": args.concurrency,
        "targets": {"p99_ms": TARGET_P99_MS, "ratio": TARGET_RATIO},
        "kinds": per_kind,
        "intake_drain_s": {
            "median": round(statistics.median(run.drains), 3) if run.drains else None,
            "max": round(max(run.drains), 3) if run.drains else None,
        },
        "tunebot_tasks": tasks,
        "bursts": run.bursts,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_report(result: dict[str, Any]) -> None:
    print(
        f"\nAcknowledgement latency, {result['rounds']} round(s) x {result['concurrency']} "
        f"concurrent signed requests per kind (ms; {result['machine']['cpus']} CPUs)\n"
    )
    header = (
        f"{'kind':<13}{'tunebot p50':>12}{'p99':>8}{'bare p50':>10}{'p99':>8}"
        f"{'x p50':>7}{'x p99':>7}{'errors t/b':>12}   p99<300ms  <=2x bare"
    )
    print(header)
    print("-" * len(header))
    for kind, row in result["kinds"].items():
        tune, bare = row["tunebot"], row["bare"]
        print(
            f"{kind:<13}{tune['p50_ms']:>12.1f}{tune['p99_ms']:>8.1f}{bare['p50_ms']:>10.1f}"
            f"{bare['p99_ms']:>8.1f}{row['ratio_p50']:>7.2f}{row['ratio_p99']:>7.2f}"
            f"{tune['errors']:>8}/{bare['errors']:<3}   {verdict(row['p99_under_target']):<9}  "
            f"{verdict(row['within_ratio'])}"
        )
    drain = result["intake_drain_s"]
    print(
        f"\nAfter each file_dataset burst tunebot finished its {result['concurrency']} intakes in "
        f"{drain['median']} s (median; max {drain['max']} s). Tasks: {result['tunebot_tasks']}"
    )
    overall = result["kinds"]["all"]
    print(
        f"Overall: p99 {overall['tunebot']['p99_ms']:.1f} ms "
        f"{verdict(overall['p99_under_target'])} (target < {TARGET_P99_MS:.0f} ms); "
        f"{overall['ratio_p99']:.2f}x bare at p99, {overall['ratio_p50']:.2f}x at p50 "
        f"{verdict(overall['within_ratio'])} (target <= {TARGET_RATIO:g}x)"
    )


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds (default 10)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (1)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests per burst (50)")
    parser.add_argument("--json-out", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: a minimal asyncio HTTP client (default) or httpx in threads",
    )
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--slack-api-url", help=argparse.SUPPRESS)
    parser.add_argument("--slack-emulator", type=int, metavar="FILES", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--rounds and --concurrency must be positive, --warmup not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare is not None:
        serve_bare(args.serve_bare, args.slack_api_url)
        return 0
    if args.slack_emulator is not None:
        serve_slack_emulator(args.slack_emulator)
        return 0

    script = str(Path(__file__).resolve())
    files = (args.rounds + args.warmup) * args.concurrency
    with tempfile.TemporaryDirectory(prefix="tunebot-ack-bench-") as scratch, ExitStack() as stack:
        work = Path(scratch)
        print(f"starting the emulators ({files} shared datasets), tunebot and the bare app …")
        _, line = stack.enter_context(
            child([script, "--slack-emulator", str(files)], work / "slack-emulator.log")
        )
        workspace = Workspace(**json.loads(line))
        _, openai_line = stack.enter_context(
            child(
                ["-m", "tests.emulators.openai_emulator", "--port", "0", "--api-key", OPENAI_KEY],
                work / "openai-emulator.log",
            )
        )
        data_dir = work / "tunebot"
        data_dir.mkdir()
        database = data_dir / "tunebot.db"
        tunebot = BotProcess(
            env=bot_environment(
                slack_api_url=workspace.api_url,
                file_host=workspace.file_host,
                openai_base_url=openai_line.strip(),
                database_url=f"sqlite:///{database}",
                data_dir=data_dir,
            ),
            log_path=data_dir / "tunebot.log",
            port=free_port(),
        )
        tunebot.start(timeout=START_TIMEOUT_S)
        stack.callback(tunebot.stop)
        bare_url = stack.enter_context(bare_server(workspace.api_url, work / "bare.log"))
        try:
            run = measure(
                {"tunebot": tunebot.url, "bare": bare_url},
                workspace,
                database,
                rounds=args.rounds,
                warmup=args.warmup,
                concurrency=args.concurrency,
                client=args.client,
            )
        except Exception:
            print(tunebot.log()[-4000:], file=sys.stderr)
            raise
        result = figures(run, args, task_counts(database))
    print_report(result)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
