"""Training files reach the service whole: one request when small, the Uploads API when large."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import openai
import pytest

from finetuning.provider import OpenAIProvider, ProviderError, ProviderSettings
from finetuning.provider.errors import HINT_DATASET
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.provider.conftest import api_calls, chat_examples

PART_PATH = r"/v1/uploads/[^/]+/parts"


def stored_content(client: openai.OpenAI, file_id: str) -> bytes:
    return client.files.content(file_id).content


def large_setup(
    emu: OpenAIEmulator, client: openai.OpenAI, settings: ProviderSettings, tmp_path: Path
) -> tuple[OpenAIProvider, Path, bytes]:
    """A ~3.5 kB dataset, an emulator refusing single uploads over 1 kB, 500-byte parts."""
    content = chat_examples(40)
    path = tmp_path / "big.jsonl"
    path.write_bytes(content)
    emu.max_file_bytes = 1000
    tuned = dataclasses.replace(settings, single_upload_limit_bytes=1000, upload_part_bytes=500)
    return OpenAIProvider(client, tuned), path, content


def test_small_file_goes_through_the_files_api(
    emu: OpenAIEmulator, client: openai.OpenAI, provider: OpenAIProvider, dataset: Path
) -> None:
    file_id = provider.upload_training_file(dataset)

    assert file_id.startswith("file-")
    assert api_calls(emu, "POST", "/v1/files") == 1
    assert api_calls(emu, "POST", "/v1/uploads") == 0
    assert stored_content(client, file_id) == dataset.read_bytes()
    assert client.files.retrieve(file_id).purpose == "fine-tune"


def test_large_file_goes_through_the_uploads_api_in_parts(
    emu: OpenAIEmulator, client: openai.OpenAI, settings: ProviderSettings, tmp_path: Path
) -> None:
    provider, path, content = large_setup(emu, client, settings, tmp_path)
    expected_parts = -(-len(content) // 500)
    assert expected_parts >= 3

    file_id = provider.upload_training_file(path)

    assert api_calls(emu, "POST", "/v1/files") == 0
    assert api_calls(emu, "POST", "/v1/uploads") == 1
    assert api_calls(emu, "POST", PART_PATH) == expected_parts
    assert api_calls(emu, "POST", r"/v1/uploads/[^/]+/complete") == 1
    assert stored_content(client, file_id) == content
    assert client.files.retrieve(file_id).filename == "big.jsonl"


def test_a_failed_part_is_retried_by_the_sdk_and_the_file_still_matches(
    emu: OpenAIEmulator, client: openai.OpenAI, settings: ProviderSettings, tmp_path: Path
) -> None:
    provider, path, content = large_setup(emu, client, settings, tmp_path)
    emu.inject(PART_PATH, 500, count=1, retry_after=0.01)

    file_id = provider.upload_training_file(path)

    assert api_calls(emu, "POST", PART_PATH) == -(-len(content) // 500) + 1
    assert stored_content(client, file_id) == content


def test_a_refused_part_cancels_the_upload_and_raises_provider_error(
    emu: OpenAIEmulator, client: openai.OpenAI, settings: ProviderSettings, tmp_path: Path
) -> None:
    provider, path, _ = large_setup(emu, client, settings, tmp_path)
    emu.inject(PART_PATH, 400, count=1)

    with pytest.raises(ProviderError) as caught:
        provider.upload_training_file(path)

    assert caught.value.status == 400
    assert caught.value.message == "Injected failure (400)."
    assert api_calls(emu, "POST", r"/v1/uploads/[^/]+/cancel") == 1
    assert api_calls(emu, "POST", r"/v1/uploads/[^/]+/complete") == 0


def test_a_single_upload_over_the_services_limit_is_reported_as_a_dataset_problem(
    emu: OpenAIEmulator, provider: OpenAIProvider, dataset: Path
) -> None:
    emu.max_file_bytes = 100  # the service's limit is lower than our settings believe

    with pytest.raises(ProviderError) as caught:
        provider.upload_training_file(dataset)

    assert caught.value.status == 400
    assert caught.value.code == "file_too_large"
    assert caught.value.message.startswith("File is too large:")
    assert caught.value.hint == HINT_DATASET
