"""Benchmark `tunebot validate` against the cookbook's way of counting tokens and a hard floor.

In one run, on one synthetic dataset:
  (a) the installed `tunebot validate FILE --json` CLI, as a user runs it (process start included);
  (b) the OpenAI cookbook's data-prep notebook loop: `json.loads` per line, `encoding.encode` per
      message value, one thread -- run as its own process so its peak RSS is its own;
  (c) the floor: single-thread `encode_ordinary` of every message string, read into memory first
      and untimed, divided by the number of cores: no engine can tokenize faster than that.
Targets from the issue: b/a >= 2.0, a/c <= 1.3, and peak RSS of (a) under 300 MB on a 1 GB file
(`--target-mb 1000`). MB means 10**6 bytes throughout.

Run: .venv/bin/python bench/validate_bench.py [--examples N | --target-mb M] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil
import tiktoken

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Lets the bench import the project from a checkout that is not installed yet.
    sys.path.append(str(REPO_ROOT))

from synthetic_chat import DEFAULT_SEED, write_dataset  # noqa: E402

MB = 1_000_000
DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
DEFAULT_EXAMPLES = 200_000
POLL_SECONDS = 0.02
TARGET_B_OVER_A = 2.0
TARGET_A_OVER_C = 1.3
TARGET_RSS_MB = 300.0
RSS_TARGET_FILE_MB = 1000.0
FLOOR_CHUNK_STRINGS = 2_000_000


# --- tokenizer ---------------------------------------------------------------------------------


def encoding_name_for(model: str) -> str:
    """The project's model catalog decides; tiktoken's table is the fallback for other models."""
    from finetuning.datasets.models import default_catalog

    return default_catalog().resolve(model).encoding


def load_encoding(name: str) -> tiktoken.Encoding:
    """The project's offline encoding; `tiktoken.get_encoding` would download the vocabulary."""
    from finetuning.datasets.tokenizer import get_encoding

    return get_encoding(name)


# --- measuring a process -----------------------------------------------------------------------


@dataclass
class ProcessRun:
    """One measured child process: wall time, CPU time and memory high-water marks."""

    returncode: int
    wall_s: float
    cpu_s: float
    peak_tree_rss: int
    peak_tree_pss: int
    peak_single_rss: int
    stdout: str
    stderr: str


def _descendants(pid: int) -> list[int]:
    """Pids below `pid`, from the kernel's per-thread `children` lists.

    psutil's `children()` reads /proc/*/stat for every process on the machine (~4 ms here); doing
    that every 20 ms would steal a noticeable share of a core from the engine being measured.
    """
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for thread in threads:
            try:
                with open(f"/proc/{parent}/task/{thread}/children", encoding="ascii") as listing:
                    children = [int(child) for child in listing.read().split()]
            except OSError:
                continue
            found.extend(children)
            pending.extend(children)
    return found


_HAS_PROC_CHILDREN = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()


class _RssSampler(threading.Thread):
    """Polls the RSS of a process and all its descendants; the sum is what the machine pays."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._root = psutil.Process(pid)
        self._known: dict[int, psutil.Process] = {pid: self._root}
        self._finished = threading.Event()
        self.peak_tree = 0
        self.peak_tree_pss = 0
        self.peak_single = 0

    def run(self) -> None:
        while not self._finished.is_set():
            self.sample()
            self._finished.wait(POLL_SECONDS)

    def _processes(self) -> list[psutil.Process]:
        if not _HAS_PROC_CHILDREN:
            return [self._root, *self._root.children(recursive=True)]
        processes = [self._root]
        for pid in _descendants(self._root.pid):
            process = self._known.get(pid)
            if process is None:
                process = self._known[pid] = psutil.Process(pid)
            processes.append(process)
        return processes

    def sample(self) -> None:
        try:
            processes = self._processes()
        except psutil.Error:
            return
        total = proportional = 0
        for process in processes:
            try:
                rss = process.memory_info().rss
            except psutil.Error:
                continue
            total += rss
            proportional += _pss(process.pid)
            self.peak_single = max(self.peak_single, rss)
        self.peak_tree = max(self.peak_tree, total)
        self.peak_tree_pss = max(self.peak_tree_pss, proportional)

    def stop(self) -> None:
        self._finished.set()
        self.join()


def _pss(pid: int) -> int:
    """Proportional set size: pages shared by forked workers counted once across the tree,
    which the RSS sum counts once per process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_measured(command: list[str]) -> ProcessRun:
    """Run `command`, timing it to its exit while a thread samples memory every ~20 ms.

    The main thread blocks in `wait4`, so the wall time is exact (not rounded to the poll), and the
    kernel's own `ru_maxrss` catches a single-process peak that fell between two polls.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        sampler = _RssSampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        out.seek(0)
        err.seek(0)
        return ProcessRun(
            returncode=process.returncode,
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_tree_rss=sampler.peak_tree,
            peak_tree_pss=sampler.peak_tree_pss,
            peak_single_rss=max(sampler.peak_single, usage.ru_maxrss * 1024),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


# --- (b) the cookbook baseline -----------------------------------------------------------------


def num_tokens_from_messages(
    messages: list[dict[str, Any]],
    encoding: tiktoken.Encoding,
    tokens_per_message: int = 3,
    tokens_per_name: int = 1,
) -> int:
    """The cookbook notebook's count, verbatim but for skipping non-string values (tool_calls)."""
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            if isinstance(value, str):
                num_tokens += len(encoding.encode(value))
            if key == "name":
                num_tokens += tokens_per_name
    num_tokens += 3
    return num_tokens


def baseline_worker(path: Path, encoding_name: str) -> None:
    """Body of the (b) child process: prints its counts and timings as one JSON line."""
    started = time.perf_counter()
    encoding = load_encoding(encoding_name)
    loaded = time.perf_counter()
    examples = tokens = with_tools = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            example = json.loads(line)
            tokens += num_tokens_from_messages(example["messages"], encoding)
            examples += 1
            with_tools += "tools" in example
    done = time.perf_counter()
    summary = {
        "examples": examples,
        "tokens_total": tokens,
        "examples_with_tools": with_tools,
        "load_s": loaded - started,
        "loop_s": done - loaded,
    }
    print(json.dumps(summary))


# --- (c) the floor -----------------------------------------------------------------------------


def message_strings(path: Path) -> Iterator[list[str]]:
    """Every string a tokenizer must see, in chunks so a 1 GB file does not need 3 GB of RAM.

    Message content and names, plus tool-call names and arguments. Roles are left out: an engine
    counts them as a fixed overhead and need not run BPE on them.
    """
    chunk: list[str] = []
    with path.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            for message in orjson.loads(line)["messages"]:
                for key in ("content", "name"):
                    value = message.get(key)
                    if isinstance(value, str):
                        chunk.append(value)
                for call in message.get("tool_calls") or ():
                    function = call.get("function") or {}
                    chunk.extend(v for v in (function.get("name"), function.get("arguments")) if v)
            if len(chunk) >= FLOOR_CHUNK_STRINGS:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def time_floor(path: Path, encoding: tiktoken.Encoding) -> tuple[float, int]:
    """Seconds spent in single-thread `encode_ordinary` (reading excluded), and tokens seen."""
    seconds = 0.0
    tokens = 0
    encode = encoding.encode_ordinary
    for strings in message_strings(path):
        start = time.perf_counter()
        for text in strings:
            tokens += len(encode(text))
        seconds += time.perf_counter() - start
    return seconds, tokens


# --- the benchmark -----------------------------------------------------------------------------


@dataclass
class Measurement:
    """The best of the repeats for one contender; peak RSS is the worst over them."""

    name: str
    wall_s: float
    peak_tree_rss_mb: float | None = None
    peak_tree_pss_mb: float | None = None
    peak_single_rss_mb: float | None = None
    cpu_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def examples_per_s(self, examples: int) -> float:
        return examples / self.wall_s

    def mb_per_s(self, size: int) -> float:
        return size / MB / self.wall_s


def best_of(runs: list[ProcessRun], name: str) -> Measurement:
    fastest = min(runs, key=lambda run: run.wall_s)
    return Measurement(
        name=name,
        wall_s=fastest.wall_s,
        peak_tree_rss_mb=max(run.peak_tree_rss for run in runs) / MB,
        peak_tree_pss_mb=max(run.peak_tree_pss for run in runs) / MB,
        peak_single_rss_mb=max(run.peak_single_rss for run in runs) / MB,
        cpu_s=fastest.cpu_s,
    )


def tunebot_executable(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(sys.executable).parent / "tunebot"


def count_examples(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def measure_engine(
    executable: Path, path: Path, model: str, repeat: int, expected: int
) -> tuple[Measurement | None, list[str]]:
    """Run (a) `repeat` times; the problems list says why a result cannot be trusted."""
    if not executable.exists():
        return None, [f"{executable} does not exist: is the project installed?"]
    problems: list[str] = []
    runs: list[ProcessRun] = []
    report: dict[str, Any] = {}
    for _ in range(repeat):
        run = run_measured([str(executable), "validate", str(path), "--json", "--model", model])
        runs.append(run)
        try:
            report = json.loads(run.stdout)
        except json.JSONDecodeError:
            tail = (run.stderr or run.stdout)[-2000:]
            return None, [f"engine exit {run.returncode}, output is not JSON:\n{tail}"]
        if report.get("examples") != expected:
            problems.append(f"engine counted {report.get('examples')} examples, not {expected}")
        if not report.get("valid", False):
            first = (report.get("errors") or [])[:3]
            problems.append(f"engine says the dataset is invalid (exit {run.returncode}): {first}")
    measurement = best_of(runs, "(a) tunebot validate")
    measurement.extra = {
        "report_tokens": report.get("tokens"),
        "report_estimate": report.get("estimate"),
        "returncode": runs[-1].returncode,
        "report_seconds": report.get("seconds"),
    }
    return measurement, problems


def measure_baseline(path: Path, encoding_name: str, repeat: int) -> Measurement:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--baseline-worker",
        str(path),
        "--encoding",
        encoding_name,
    ]
    runs = [run_measured(command) for _ in range(repeat)]
    for run in runs:
        if run.returncode != 0:
            raise SystemExit(f"baseline failed (exit {run.returncode}):\n{run.stderr[-2000:]}")
    measurement = best_of(runs, "(b) cookbook baseline")
    measurement.extra = json.loads(min(runs, key=lambda run: run.wall_s).stdout)
    return measurement


def measure_floor(path: Path, encoding_name: str, repeat: int, cores: int) -> Measurement:
    encoding = load_encoding(encoding_name)
    timings = [time_floor(path, encoding) for _ in range(repeat)]
    single, tokens = min(timings)
    return Measurement(
        name=f"(c) floor / {cores} cores",
        wall_s=single / cores,
        extra={"single_thread_s": single, "cores": cores, "tokens_encoded": tokens},
    )


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(
    rows: list[Measurement], examples: int, size: int, cores: int, file_mb: float
) -> dict[str, Any]:
    header = f"{'':26}{'examples/s':>12}{'MB/s':>9}{'wall s':>9}{'CPU s':>8}"
    header += f"{'RSS tree MB':>13}{'PSS tree MB':>13}{'RSS 1 proc MB':>15}"
    print(header)
    for row in rows:
        print(
            f"{row.name:26}{row.examples_per_s(examples):>12,.0f}{row.mb_per_s(size):>9.1f}"
            f"{row.wall_s:>9.2f}{_fmt(row.cpu_s, '.2f'):>8}"
            f"{_fmt(row.peak_tree_rss_mb, '.1f'):>13}{_fmt(row.peak_tree_pss_mb, '.1f'):>13}"
            f"{_fmt(row.peak_single_rss_mb, '.1f'):>15}"
        )
    by_key = {row.name[:3]: row for row in rows}
    engine, baseline, floor = by_key.get("(a)"), by_key["(b)"], by_key["(c)"]
    print(f"(c) single thread: {floor.extra['single_thread_s']:.2f} s, divided by {cores} cores")
    targets: dict[str, Any] = {}
    if engine is None:
        print("ratios: n/a, the engine did not run")
        return targets
    b_over_a = baseline.wall_s / engine.wall_s
    a_over_c = engine.wall_s / floor.wall_s
    # PSS: what the process tree costs the machine; forked workers share the vocabulary pages,
    # which an RSS sum would count once per process.
    rss = engine.peak_tree_pss_mb or 0.0
    targets = {
        "b_over_a": {"value": b_over_a, "target": f">= {TARGET_B_OVER_A}"},
        "a_over_c": {"value": a_over_c, "target": f"<= {TARGET_A_OVER_C}"},
        "peak_rss_mb": {"value": rss, "target": f"< {TARGET_RSS_MB} on a 1 GB file"},
    }
    targets["b_over_a"]["verdict"] = verdict(b_over_a >= TARGET_B_OVER_A)
    targets["a_over_c"]["verdict"] = verdict(a_over_c <= TARGET_A_OVER_C)
    targets["peak_rss_mb"]["verdict"] = verdict(rss < TARGET_RSS_MB)
    print(f"b/a = {b_over_a:.2f}  (target >= {TARGET_B_OVER_A})  {targets['b_over_a']['verdict']}")
    print(f"a/c = {a_over_c:.2f}  (target <= {TARGET_A_OVER_C})  {targets['a_over_c']['verdict']}")
    note = "" if file_mb >= RSS_TARGET_FILE_MB else f"; this file is only {file_mb:.0f} MB"
    print(
        f"peak PSS of (a)'s processes = {rss:.1f} MB  "
        f"(target < {TARGET_RSS_MB:.0f} MB on a 1 GB file{note})  "
        f"{targets['peak_rss_mb']['verdict']}"
    )
    return targets


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--examples", type=int, help=f"examples to generate ({DEFAULT_EXAMPLES})")
    size.add_argument("--target-mb", type=float, help="generate until the file has this many MB")
    size.add_argument("--file", type=Path, help="benchmark this existing JSONL file instead")
    parser.add_argument("--keep", type=Path, help="write the generated file here and keep it")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--repeat", type=int, default=1, help="best of R timings (default 1)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--tunebot", help="the CLI to benchmark (default: next to this python)")
    parser.add_argument("--json-out", type=Path, help="also write the figures to this file")
    parser.add_argument("--baseline-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--encoding", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def prepare_dataset(args: argparse.Namespace, workdir: Path) -> tuple[Path, int, dict[str, Any]]:
    if args.file is not None:
        path: Path = args.file
        return path, count_examples(path), {"generated": False}
    path = args.keep if args.keep is not None else workdir / "synthetic_chat.jsonl"
    started = time.perf_counter()
    if args.target_mb is not None:
        stats = write_dataset(path, target_bytes=int(args.target_mb * MB), seed=args.seed)
    else:
        stats = write_dataset(path, examples=args.examples or DEFAULT_EXAMPLES, seed=args.seed)
    info = {"generated": True, "seed": args.seed, "messages": stats.messages}
    info["generate_s"] = time.perf_counter() - started
    return path, stats.examples, info


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline_worker is not None:
        baseline_worker(args.baseline_worker, args.encoding)
        return 0
    encoding_name = encoding_name_for(args.model)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="validate-bench-") as workdir:
        path, examples, dataset = prepare_dataset(args, Path(workdir))
        size = path.stat().st_size
        file_mb = size / MB
        print(
            f"dataset: {path if args.keep or args.file else 'temporary file'}, "
            f"{examples:,} examples, {file_mb:.1f} MB"
            + (f", generated in {dataset['generate_s']:.1f} s" if dataset["generated"] else "")
        )
        print(
            f"model {args.model} ({encoding_name}), {cores} cores, python "
            f"{platform.python_version()}, tiktoken {tiktoken.__version__}, repeat {args.repeat}, "
            f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews wall times)"
        )
        executable = tunebot_executable(args.tunebot)
        engine, problems = measure_engine(executable, path, args.model, args.repeat, examples)
        baseline = measure_baseline(path, encoding_name, args.repeat)
        floor = measure_floor(path, encoding_name, args.repeat, cores)
    rows = [row for row in (engine, baseline, floor) if row is not None]
    print()
    targets = print_table(rows, examples, size, cores, file_mb)

    baseline_tokens = baseline.extra["tokens_total"]
    engine_tokens = ((engine.extra.get("report_tokens") or {}) if engine else {}).get("total")
    tokens_match = engine_tokens == baseline_tokens
    if engine_tokens is None:
        print(f"tokens: cookbook {baseline_tokens}, engine n/a")
    else:
        outcome = "match"
        if not tokens_match:
            outcome = (
                f"MISMATCH by {engine_tokens - baseline_tokens:+,} (the cookbook ignores tool "
                f"definitions and tool_calls; {baseline.extra['examples_with_tools']:,} examples "
                "declare tools)"
            )
        print(f"tokens: engine {engine_tokens}, cookbook {baseline_tokens}: {outcome}")
    for problem in problems:
        print(f"problem: {problem}")

    if args.json_out is not None:
        figures = {
            "dataset": {"examples": examples, "bytes": size, **dataset},
            "model": args.model,
            "encoding": encoding_name,
            "cores": cores,
            "repeat": args.repeat,
            "python": platform.python_version(),
            "tiktoken": tiktoken.__version__,
            "load_average_at_end": os.getloadavg()[0],
            "results": {
                row.name[1]: {
                    **asdict(row),
                    "examples_per_s": row.examples_per_s(examples),
                    "mb_per_s": row.mb_per_s(size),
                }
                for row in rows
            },
            "targets": targets,
            "tokens": {"engine": engine_tokens, "cookbook": baseline_tokens, "match": tokens_match},
            "problems": problems,
        }
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if engine is None or problems else 0


if __name__ == "__main__":
    sys.exit(main())
