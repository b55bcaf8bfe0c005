"""`tunebot serve` as a real child process, pointed at the emulators."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TUNEBOT = Path(sys.executable).with_name("tunebot")
# Shaped like real credentials, so that the log redaction meant for real ones is what keeps
# them out of the bot's log (see `leaked_secrets`).
BOT_TOKEN = "xoxb-2718281828-3141592653589-e2eBotKq7Lw2Xe9Rt4Yu6Io1Pa3Sd"
SIGNING_SECRET = "5e2ea7c4b19d3f08e6a1c2b7d94f0e3a"
"""32 hex characters, as Slack's are: nothing marks it as a secret but its value."""
OPENAI_KEY = "sk-proj-e2eTestKeyZq8vR2mT5xW9yB3nL6kP1cF4hJ7dG0sAuE2rT6yU9iO3pQ"
SECRET_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_SECRET",
    "OPENAI_API_KEY",
    "OPENAI_WEBHOOK_SECRET",
    "TUNEBOT_SECRET_KEY",
    "DISCORD_BOT_TOKEN",
)
"""The environment variables whose values must never appear in a log."""
COMMANDS_PER_MINUTE = "10000"
"""The suite's tests all act as the same few people against one process, faster than anyone
types: only the flood tests keep the real per-person limit."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BotProcess:
    """One server process; `restart()` starts a new one on the same port and database."""

    env: dict[str, str]
    log_path: Path
    port: int
    serve_args: tuple[str, ...] = ()
    """Extra `tunebot serve` arguments: `("--discord",)` for the Discord front end."""
    process: subprocess.Popen[bytes] | None = None
    logs: list[str] = field(default_factory=list)
    handed: dict[str, str] = field(default_factory=dict)
    """Credentials a test gave the process at run time (a workspace's key typed into a modal),
    by a name for the report: watched for in its log like those of its environment."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def start(self, timeout: float = 30) -> None:
        _remember(self)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(TUNEBOT),
                "serve",
                *self.serve_args,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.log_path.parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tunebot exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"tunebot did not become healthy:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.kill()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def secrets(self) -> dict[str, str]:
        """The credentials this process was given, by environment variable."""
        given = {name: self.env[name] for name in SECRET_SETTINGS if self.env.get(name)}
        return {**given, **self.handed}


_started: list[BotProcess] = []
_started_lock = threading.Lock()


def _remember(process: BotProcess) -> None:
    with _started_lock:
        if not any(known is process for known in _started):
            _started.append(process)


def leaked_secrets() -> list[str]:
    """Where any process started so far wrote one of its credentials into its log, as
    `path:line: VARIABLE: the line with the secret replaced by <VARIABLE>`.

    A secret counts as leaked whole or by its last 16 characters (what is left of a token cut
    short); the few characters an API shows of a masked key are too short to count.
    """
    with _started_lock:
        processes = list(_started)
    found: list[str] = []
    for process in processes:
        secrets = process.secrets()
        for number, line in enumerate(process.log().splitlines(), start=1):
            for name, value in secrets.items():
                pieces = {value, value[-16:]} if len(value) > 24 else {value}
                if any(piece in line for piece in pieces):
                    shown = line
                    for piece in sorted(pieces, key=len, reverse=True):
                        shown = shown.replace(piece, f"<{name}>")
                    found.append(f"{process.log_path}:{number}: {name}: {shown}")
    return found


def bot_environment(
    *,
    slack_api_url: str,
    file_host: str,
    openai_base_url: str,
    database_url: str,
    data_dir: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Only what the bot needs: nothing leaks in from the developer's shell or `.env`."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data_dir),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "SLACK_FILE_HOSTS": file_host,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai_base_url,
        "DATABASE_URL": database_url,
        "TUNEBOT_DATA_DIR": str(data_dir),
        "TUNEBOT_MAX_UPLOAD_MB": "5",
        "TUNEBOT_USER_COMMANDS_PER_MINUTE": COMMANDS_PER_MINUTE,
    }
    env.update(extra or {})
    return env
