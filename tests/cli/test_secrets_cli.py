"""`tunebot secrets new-key` and `tunebot secrets rotate` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from finetuning.audit import AuditLog
from finetuning.credentials import SecretBox, WorkspaceKeys
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade

TUNEBOT = Path(sys.executable).parent / "tunebot"
KEY = "sk-proj-CliRotation" + "9" * 30


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("TUNEBOT_")}
    return subprocess.run(
        [str(TUNEBOT), *args],
        cwd=cwd,
        env=environment | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def keys_in(url: str, secret: list[str]) -> dict[str, str | None]:
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        keys = WorkspaceKeys(factory, SecretBox(secret), audit=AuditLog(factory))
        return keys.api_keys(["T1"])
    finally:
        engine.dispose()


def new_key(tmp_path: Path) -> str:
    made = run("secrets", "new-key", cwd=tmp_path, env={})
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_new_key_prints_a_key_the_box_takes_and_a_new_one_each_time(tmp_path: Path) -> None:
    first, second = new_key(tmp_path), new_key(tmp_path)

    assert first != second
    SecretBox([first])


def test_rotate_reseals_under_the_first_key_so_the_old_one_can_go(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tunebot.db'}"
    upgrade(url)
    old, new = new_key(tmp_path), new_key(tmp_path)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    WorkspaceKeys(factory, SecretBox([old]), audit=AuditLog(factory)).set(
        "T1", KEY, by="U1", models_visible=1
    )
    engine.dispose()

    rotated = run(
        "secrets",
        "rotate",
        cwd=tmp_path,
        env={"DATABASE_URL": url, "TUNEBOT_SECRET_KEY": f"{new},{old}"},
    )

    assert rotated.returncode == 0, rotated.stderr
    assert "resealed 1 workspace key" in rotated.stdout
    assert keys_in(url, [new]) == {"T1": KEY}
    assert KEY not in rotated.stdout + rotated.stderr


def test_rotate_with_keys_that_open_nothing_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tunebot.db'}"
    upgrade(url)
    old = new_key(tmp_path)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    WorkspaceKeys(factory, SecretBox([old]), audit=AuditLog(factory)).set(
        "T1", KEY, by="U1", models_visible=1
    )
    engine.dispose()

    wrong = run(
        "secrets",
        "rotate",
        cwd=tmp_path,
        env={"DATABASE_URL": url, "TUNEBOT_SECRET_KEY": new_key(tmp_path)},
    )
    unset = run("secrets", "rotate", cwd=tmp_path, env={"DATABASE_URL": url})

    assert wrong.returncode == 1 and "nothing was changed" in wrong.stderr
    assert unset.returncode == 2 and "TUNEBOT_SECRET_KEY is not set" in unset.stderr
    assert keys_in(url, [old]) == {"T1": KEY}
