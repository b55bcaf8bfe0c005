"""Provider tests' own data; the shared emulator fixtures are in tests/fixtures/openai.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.emulators.openai_emulator import JobScript, OpenAIEmulator

FAST = JobScript(validating_s=0.02, queued_s=0.02, steps=6, step_s=0.02)
MODEL = "gpt-4o-mini-2024-07-18"


def chat_examples(count: int) -> bytes:
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"What is {n} plus {n}?"},
                    {"role": "assistant", "content": f"It is {2 * n}."},
                ]
            }
        )
        for n in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def dpo_examples(count: int) -> bytes:
    lines = [
        json.dumps(
            {
                "input": {"messages": [{"role": "user", "content": f"Say {n}"}]},
                "preferred_output": [{"role": "assistant", "content": f"{n}"}],
                "non_preferred_output": [{"role": "assistant", "content": "no"}],
            }
        )
        for n in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def openai_emulator_options() -> dict[str, Any]:
    return {"script": FAST}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_bytes(chat_examples(12))
    return path


def api_calls(emu: OpenAIEmulator, method: str, path_regex: str) -> int:
    """How many requests the emulator received for one endpoint."""
    pattern = re.compile(path_regex)
    return sum(1 for r in emu.requests if r.method == method and pattern.fullmatch(r.path))
