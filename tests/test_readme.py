"""The README documents what the code does: every finding code and every setting."""

from pathlib import Path

from bot.settings import Settings
from finetuning.datasets.findings import KINDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_starts_with_the_two_setup_commands():
    first_block = README.split("```")[1]
    assert "make run" in first_block
    assert "make test" in first_block


def test_every_finding_code_is_in_the_readme_table():
    missing = [code for code in KINDS if f"| `{code}` |" not in README]
    assert missing == []


def test_the_main_settings_are_named():
    documented = {name for name in Settings.model_fields if name.upper() in README}
    assert {"slack_bot_token", "openai_api_key", "database_url", "slack_file_hosts"} <= documented
