"""The OpenAI API emulator: import `OpenAIEmulator` and `JobScript` from here.

Run it as its own process for multi-process tests and benchmarks:

    python -m tests.emulators.openai_emulator --port 0 --api-key sk-test [--speed 10]
        [--webhook-url http://127.0.0.1:PORT/openai/webhooks --webhook-secret whsec_...]

It prints its base URL (ending in ``/v1``) on one line once it is listening, then serves until
interrupted. Test controls are reachable over HTTP under ``/_emulator/`` (see control_api).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from tests.emulators.openai import JobScript, OpenAIEmulator, RecordedRequest, WebhookDelivery

__all__ = ["JobScript", "OpenAIEmulator", "RecordedRequest", "WebhookDelivery", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a stateful OpenAI API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="sk-test-emulator")
    parser.add_argument("--speed", type=float, default=1.0, help="divide script durations by F")
    parser.add_argument("--organization", default="tunebot-emulator")
    parser.add_argument("--tokens-per-second", type=float, default=0.0)
    parser.add_argument("--webhook-url", default=None, help="POST job endings here, signed")
    parser.add_argument("--webhook-secret", default=None, help="whsec_...; random by default")
    args = parser.parse_args(argv)

    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    emulator = OpenAIEmulator(
        args.api_key,
        host=args.host,
        port=args.port,
        speed=args.speed,
        organization=args.organization,
        tokens_per_second=args.tokens_per_second,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    with emulator:
        print(emulator.base_url, flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
