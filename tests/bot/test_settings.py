"""Settings: documented in .env.example, parsed from the forms an environment holds."""

from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_env_example():
    documented = ROOT.joinpath(".env.example").read_text()
    missing = [
        name.upper() for name in Settings.model_fields if f"{name.upper()}=" not in documented
    ]
    assert missing == []


def test_comma_separated_hosts_and_json_prices(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SLACK_FILE_HOSTS", "files.slack.com, Files.Example.org ,")
    monkeypatch.setenv("TUNEBOT_PRICES", '{"gpt-4o-mini": 2.5}')
    settings = Settings(_env_file=None)
    assert settings.slack_file_hosts == ["files.slack.com", "files.example.org"]
    assert settings.tunebot_prices == {"gpt-4o-mini": 2.5}


def test_empty_values_fall_back_to_defaults(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "")
    monkeypatch.setenv("TUNEBOT_DEFAULT_MODEL", "")
    settings = Settings(_env_file=None)
    assert settings.openai_base_url is None
    assert settings.tunebot_default_model == "gpt-4o-mini-2024-07-18"


def test_invalid_number_is_rejected(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUNEBOT_POLL_SECONDS", "0")
    with pytest.raises(ValueError, match="tunebot_poll_seconds"):
        Settings(_env_file=None)
