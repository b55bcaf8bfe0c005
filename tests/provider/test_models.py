"""Fine-tuned models: only the account's own are listed, and they can be deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from finetuning.provider import OpenAIProvider, ProviderError
from finetuning.provider.errors import HINT_MODEL, HINT_PERMISSION
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.provider.conftest import MODEL, chat_examples


def tuned_model(emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path) -> str:
    path = tmp_path / "train.jsonl"
    path.write_bytes(chat_examples(12))
    training = provider.upload_training_file(path)
    job = provider.create_job(training_file=training, model=MODEL, suffix="helpdesk")
    model: str = emu.wait_for(job.id, "succeeded")["fine_tuned_model"]
    return model


def test_only_fine_tuned_models_are_listed_with_base_and_suffix(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    assert provider.list_fine_tuned_models() == []
    model_id = tuned_model(emu, provider, tmp_path)

    models = provider.list_fine_tuned_models()

    assert [model.id for model in models] == [model_id]
    assert models[0].base_model == MODEL
    assert models[0].suffix == "helpdesk"
    assert models[0].owned_by == emu.organization
    assert models[0].created_at.tzinfo is not None


def test_a_fine_tuned_model_is_deleted_once(
    emu: OpenAIEmulator, provider: OpenAIProvider, tmp_path: Path
) -> None:
    model_id = tuned_model(emu, provider, tmp_path)

    assert provider.delete_model(model_id) is True
    assert provider.list_fine_tuned_models() == []

    with pytest.raises(ProviderError) as caught:
        provider.delete_model(model_id)
    assert (caught.value.status, caught.value.code) == (404, "model_not_found")
    assert caught.value.message == f"The model '{model_id}' does not exist"
    assert caught.value.hint == HINT_MODEL


def test_a_base_model_cannot_be_deleted(provider: OpenAIProvider) -> None:
    with pytest.raises(ProviderError) as caught:
        provider.delete_model(MODEL)

    assert caught.value.status == 403
    assert caught.value.hint == HINT_PERMISSION
