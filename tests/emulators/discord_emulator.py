"""The Discord emulator: import `DiscordEmulator` and the guild's fixed ids from here.

Run it as its own process for multi-process tests (a `tunebot serve --discord` under test):

    python -m tests.emulators.discord_emulator --port 0 --token BOT_TOKEN

It prints its API URL (ending in ``/api``: what DISCORD_API_URL is set to) on one line once it
is listening, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from tests.emulators.discord import (
    ADMIN,
    ADMINS_ROLE,
    ALICE,
    APP_ID,
    BOB,
    BOT_USER_ID,
    EVERYONE_ROLE,
    FINETUNERS_ROLE,
    GENERAL,
    GUILD_ID,
    OTHER_BOT,
    OWNER,
    PRIVATE,
    RANDOM,
    ApiCall,
    Attachment,
    Callback,
    Channel,
    Command,
    DiscordEmulator,
    Interaction,
    Message,
    MessageVersion,
)

__all__ = [
    "ADMIN",
    "ADMINS_ROLE",
    "ALICE",
    "APP_ID",
    "BOB",
    "BOT_USER_ID",
    "EVERYONE_ROLE",
    "FINETUNERS_ROLE",
    "GENERAL",
    "GUILD_ID",
    "OTHER_BOT",
    "OWNER",
    "PRIVATE",
    "RANDOM",
    "ApiCall",
    "Attachment",
    "Callback",
    "Channel",
    "Command",
    "DiscordEmulator",
    "Interaction",
    "Message",
    "MessageVersion",
    "main",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a stateful Discord API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="emulator-bot-token")
    parser.add_argument("--heartbeat-interval", type=float, default=41.25, help="seconds")
    args = parser.parse_args(argv)

    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    emulator = DiscordEmulator(args.token, host=args.host, port=args.port)
    emulator.heartbeat_interval = args.heartbeat_interval
    with emulator:
        print(emulator.base_url, flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
