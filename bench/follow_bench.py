"""Following jobs at scale: what a poll cycle costs, and how soon an ending reaches Slack.

Part 1, in process (see `follow_cycles.py`): the real follower and OpenAI provider against the
OpenAI emulator, a migrated SQLite file, N active quiet jobs (10, 100, 1,000); per cycle the
API calls (counted by the emulator), the SQL statements (counted on the engine) and the time,
when nothing changed and when k jobs ended, started running, or keep running.

Part 2, end to end (see `follow_latency.py`): the real `tunebot serve` between the Slack and
OpenAI emulators, N quiet jobs plus jobs that end one by one; the time from the ending to the
notice in Slack, p50/p99, by polling alone and with webhooks.

Targets from the issue:
  - API calls per cycle grow with the jobs that changed, not with the quiet ones;
  - a notice within one poll interval + 5 s by polling, within 2 s by webhook (checked on p99).

Run: .venv/bin/python bench/follow_bench.py [--sizes 10,100,1000] [--endings 20]
         [--poll-seconds 5] [--json-out FILE] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # The emulators and the process helpers live in the test tree, which is not installed.
    sys.path.append(str(REPO_ROOT))

import follow_cycles  # noqa: E402
import follow_latency  # noqa: E402

WEBHOOK_TARGET_S = 2.0
POLLING_SLACK_S = 5.0
SEED = 20_240_601


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


# --- part 1 -----------------------------------------------------------------------------------


def cycle_checks(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Does the cost of a cycle follow the changed jobs rather than the quiet ones?"""
    by_case: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
    for row in rows:
        by_case.setdefault((row["scenario"], row["k"]), {})[row["size"]] = row
    growth = []
    for (scenario, k), per_size in by_case.items():
        sizes = sorted(per_size)
        small, large = per_size[sizes[0]], per_size[sizes[-1]]
        beyond_listing = {
            size: per_size[size]["api_calls"] - per_size[size]["list_pages_expected"]
            for size in sizes
        }
        growth.append(
            {
                "scenario": scenario,
                "k": k,
                "calls_by_size": {size: per_size[size]["api_calls"] for size in sizes},
                "calls_beyond_listing_by_size": beyond_listing,
                "db_statements_by_size": {size: per_size[size]["db_statements"] for size in sizes},
                "calls_ratio_largest_smallest": large["api_calls"] / small["api_calls"],
                "db_ratio_largest_smallest": large["db_statements"] / small["db_statements"],
            }
        )
    quiet_is_listing = all(
        row["api_calls_max"] == row["list_pages_expected"]
        for row in rows
        if row["scenario"] == "quiet"
    )
    changed_independent = all(
        len(set(case["calls_beyond_listing_by_size"].values())) == 1 for case in growth
    )
    changed_scales = all(
        row["api_calls"] - row["list_pages_expected"] == row["k"]
        for row in rows
        if row["scenario"] != "quiet"
    )
    db_independent = all(len(set(case["db_statements_by_size"].values())) == 1 for case in growth)
    return {
        "growth": growth,
        "quiet_jobs_cost_only_list_pages": quiet_is_listing,
        "calls_beyond_listing_independent_of_n": changed_independent,
        "one_call_per_changed_or_running_job": changed_scales,
        "db_statements_independent_of_n": db_independent,
        "follower_count_matches_emulator": all(row["follower_counted_same"] for row in rows),
    }


def print_cycles(rows: list[dict[str, Any]], checks: dict[str, Any]) -> None:
    print("\nPart 1 -- one follower cycle (in process, SQLite file, OpenAI emulator)")
    header = (
        f"{'N':>6} {'scenario':<8} {'k':>3} {'API calls':>9} {'list pages':>10} "
        f"{'DB stmts':>8} {'ms/cycle':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        spread = (
            ""
            if row["api_calls_min"] == row["api_calls_max"]
            else f" ({row['api_calls_min']}-{row['api_calls_max']})"
        )
        print(
            f"{row['size']:>6} {row['scenario']:<8} {row['k']:>3} "
            f"{row['api_calls']:>9g}{spread} {row['list_pages_expected']:>10} "
            f"{row['db_statements']:>8g} {row['ms_per_cycle']:>9.1f}"
        )
    print("\nGrowth from the smallest to the largest N (same k):")
    header = f"{'scenario':<8} {'k':>3} {'API calls by N':<24} {'ratio':>6} {'DB stmts by N':<22}"
    print(header)
    print("-" * len(header))
    for case in checks["growth"]:
        calls = " / ".join(f"{v:g}" for v in case["calls_by_size"].values())
        statements = " / ".join(f"{v:g}" for v in case["db_statements_by_size"].values())
        print(
            f"{case['scenario']:<8} {case['k']:>3} {calls:<24} "
            f"{case['calls_ratio_largest_smallest']:>5.1f}x {statements:<22}"
        )
    print()
    lines = [
        (
            "quiet jobs cost only list pages, ceil(N/100)",
            checks["quiet_jobs_cost_only_list_pages"],
        ),
        (
            "calls beyond the listing do not depend on N",
            checks["calls_beyond_listing_independent_of_n"],
        ),
        ("one more call per changed or running job", checks["one_call_per_changed_or_running_job"]),
        ("DB statements per cycle do not depend on N", checks["db_statements_independent_of_n"]),
        (
            "follower's own count = calls the emulator saw",
            checks["follower_count_matches_emulator"],
        ),
    ]
    for label, ok in lines:
        print(f"  {verdict(ok)}  {label}")


# --- part 2 -----------------------------------------------------------------------------------


def latency_checks(runs: list[dict[str, Any]], poll_seconds: int) -> dict[str, Any]:
    polling_target = poll_seconds + POLLING_SLACK_S
    cases = []
    for run in runs:
        for phase in run["phases"]:
            target = polling_target if phase["phase"] == "polling" else WEBHOOK_TARGET_S
            p99 = phase["latency_s"]["p99"]
            complete = phase["notices_seen"] == phase["endings"]
            cases.append(
                {
                    "size": run["size"],
                    "phase": phase["phase"],
                    "target_p99_s": target,
                    "p99_s": p99,
                    "all_notices_seen": complete,
                    "pass": complete and not math.isnan(p99) and p99 <= target,
                }
            )
    return {"cases": cases, "all_pass": all(case["pass"] for case in cases)}


def print_latency(runs: list[dict[str, Any]], checks: dict[str, Any], poll_seconds: int) -> None:
    print(
        f"\nPart 2 -- job ending -> notice in Slack (tunebot serve, SQLite, poll every "
        f"{poll_seconds} s)"
    )
    header = (
        f"{'N':>6} {'mode':<8} {'notices':>8} {'p50 s':>6} {'p99 s':>6} {'max s':>6} "
        f"{'webhook p50':>11} {'target':>8}  verdict"
    )
    print(header)
    print("-" * len(header))
    verdicts = {(c["size"], c["phase"]): c for c in checks["cases"]}
    for run in runs:
        for phase in run["phases"]:
            case = verdicts[(run["size"], phase["phase"])]
            latency = phase["latency_s"]
            webhook = phase["webhook_delivered_s"]
            hook = f"{webhook['p50']:.3f}" if webhook else "-"
            print(
                f"{run['size']:>6} {phase['phase']:<8} "
                f"{phase['notices_seen']:>3}/{phase['endings']:<4} "
                f"{latency['p50']:>6.2f} {latency['p99']:>6.2f} {latency['max']:>6.2f} "
                f"{hook:>11} {'<= ' + format(case['target_p99_s'], 'g') + ' s':>8}  "
                f"{verdict(case['pass'])}"
            )
    print("\nWhat the bot did meanwhile (per phase: calls to each emulator):")
    for run in runs:
        print(
            f"  N={run['size']} ({run['active_at_start']} active at start; every message drawn "
            f"after {run['first_draw_s']:.1f} s; log: {run['bot_log_errors']} errors, "
            f"{run['bot_log_warnings']} warnings)"
        )
        for phase in run["phases"]:
            slack = ", ".join(f"{m} {n}" for m, n in phase["slack_calls"].items()) or "none"
            openai = phase["openai_calls"]
            print(
                f"    {phase['phase']:<8} {phase['seconds']:5.1f} s  Slack: {slack}; OpenAI: "
                f"{openai['all']} ({openai['list_pages']} list pages, {openai['events']} event "
                f"reads, {openai['retrieve']} retrieves)"
            )


# --- running ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="active job counts N")
    parser.add_argument("--changes", default="1,5", help="jobs that change per cycle, k")
    parser.add_argument("--repeats", type=int, default=3, help="measured cycles per case")
    parser.add_argument("--endings", type=int, default=20, help="endings per latency phase")
    parser.add_argument("--poll-seconds", type=int, default=5, help="TUNEBOT_POLL_SECONDS")
    parser.add_argument("--e2e-sizes", default=None, help="N for part 2 (default: --sizes)")
    parser.add_argument("--skip-cycles", action="store_true", help="part 2 only")
    parser.add_argument("--skip-e2e", action="store_true", help="part 1 only")
    parser.add_argument("--json-out", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep databases and logs here")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: N 10,100, one cycle per case, 4 endings, polling every 2 s",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats, args.endings, args.poll_seconds = "10,100", 1, 4, 2
        args.e2e_sizes = args.e2e_sizes or "10"
    args.size_list = _ints(args.sizes)
    args.change_list = _ints(args.changes)
    args.e2e_size_list = _ints(args.e2e_sizes) if args.e2e_sizes else args.size_list
    if args.endings < 1 or args.poll_seconds < 1 or args.repeats < 1:
        parser.error("--endings, --poll-seconds and --repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "settings": {
            "sizes": args.size_list,
            "changes": args.change_list,
            "repeats": args.repeats,
            "endings": args.endings,
            "poll_seconds": args.poll_seconds,
            "e2e_sizes": args.e2e_size_list,
            "page_size": follow_cycles.PAGE_SIZE,
        },
    }
    with tempfile.TemporaryDirectory(prefix="follow-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if not args.skip_cycles:
            print(f"Part 1: cycles at N = {args.size_list}, k = {args.change_list} …")
            rows = [
                scenario.summary()
                for size in args.size_list
                for scenario in follow_cycles.run_size(size, args.change_list, args.repeats, folder)
            ]
            result["cycles"] = rows
            result["cycle_checks"] = cycle_checks(rows)
        if not args.skip_e2e:
            print(
                f"Part 2: end to end at N = {args.e2e_size_list}, {args.endings} endings a mode …"
            )
            runs = [
                follow_latency.run_size(size, args.endings, args.poll_seconds, folder, SEED)
                for size in args.e2e_size_list
            ]
            result["latency"] = runs
            result["latency_checks"] = latency_checks(runs, args.poll_seconds)
    if "cycles" in result:
        print_cycles(result["cycles"], result["cycle_checks"])
    if "latency" in result:
        print_latency(result["latency"], result["latency_checks"], args.poll_seconds)
    result["seconds"] = time.monotonic() - started
    print(f"\n(took {result['seconds']:.0f} s)")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"figures written to {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
