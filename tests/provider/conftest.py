"""Fixtures: a live OpenAI emulator and the real provider pointed at it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from finetuning.provider import OpenAIProvider, ProviderSettings, make_client
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator

KEY = "sk-test-provider-0123456789"
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
def emu() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(api_key=KEY, script=FAST) as emulator:
        yield emulator


@pytest.fixture
def settings(emu: OpenAIEmulator) -> ProviderSettings:
    return ProviderSettings(api_key=KEY, base_url=emu.base_url, timeout_s=5.0, max_retries=3)


@pytest.fixture
def client(settings: ProviderSettings) -> Iterator[openai.OpenAI]:
    with make_client(settings) as sdk:
        yield sdk


@pytest.fixture
def provider(client: openai.OpenAI, settings: ProviderSettings) -> OpenAIProvider:
    return OpenAIProvider(client, settings)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_bytes(chat_examples(12))
    return path


def api_calls(emu: OpenAIEmulator, method: str, path_regex: str) -> int:
    """How many requests the emulator received for one endpoint."""
    pattern = re.compile(path_regex)
    return sum(1 for r in emu.requests if r.method == method and pattern.fullmatch(r.path))
