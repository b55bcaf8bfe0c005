"""The start-up check: every missing setting named at once, each with where to get it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.preflight import missing_settings
from bot.settings import Settings

TUNEBOT = Path(sys.executable).parent / "tunebot"
REQUIRED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "OPENAI_API_KEY")
ENV_NAMES = (
    *REQUIRED,
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "TUNEBOT_SECRET_KEY",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_nothing_set_names_all_three_with_where_to_get_them(clean_env: pytest.MonkeyPatch) -> None:
    missing = missing_settings(settings())

    assert [m.name for m in missing] == list(REQUIRED)
    where = {m.name: m.where for m in missing}
    assert "OAuth & Permissions" in where["SLACK_BOT_TOKEN"]
    assert "xoxb-" in where["SLACK_BOT_TOKEN"]
    assert "Signing Secret" in where["SLACK_SIGNING_SECRET"]
    assert "SLACK_APP_TOKEN" in where["SLACK_SIGNING_SECRET"], "offers Socket Mode instead"
    assert "platform.openai.com/api-keys" in where["OPENAI_API_KEY"]


def test_a_complete_http_setup_is_not_missing_anything(clean_env: pytest.MonkeyPatch) -> None:
    complete = settings(
        slack_bot_token="xoxb-1", slack_signing_secret="s3cret", openai_api_key="sk-1"
    )
    assert missing_settings(complete) == []


def test_socket_mode_needs_no_signing_secret(clean_env: pytest.MonkeyPatch) -> None:
    socket_mode = settings(
        slack_bot_token="xoxb-1", slack_app_token="xapp-1", openai_api_key="sk-1"
    )
    assert missing_settings(socket_mode) == []


def test_oauth_mode_needs_no_bot_token(clean_env: pytest.MonkeyPatch) -> None:
    oauth = settings(
        slack_client_id="111.222",
        slack_client_secret="c1ient-s3cret",
        slack_signing_secret="s3cret",
        openai_api_key="sk-1",
    )
    assert oauth.slack_oauth
    assert missing_settings(oauth) == []


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"slack_client_id": "111.222"}, "SLACK_CLIENT_SECRET"),
        ({"slack_client_secret": "c1ient-s3cret"}, "SLACK_CLIENT_ID"),
    ],
)
def test_half_an_oauth_setup_names_the_other_half(
    clean_env: pytest.MonkeyPatch, given: dict[str, str], missing: str
) -> None:
    half = settings(slack_signing_secret="s3cret", openai_api_key="sk-1", **given)

    found = missing_settings(half)

    assert [m.name for m in found] == [missing]
    assert "App Credentials" in found[0].where
    assert not half.slack_oauth


@pytest.mark.parametrize("name", REQUIRED)
def test_each_setting_alone_is_reported(clean_env: pytest.MonkeyPatch, name: str) -> None:
    for other in REQUIRED:
        if other != name:
            clean_env.setenv(other, "set")
    assert [m.name for m in missing_settings(settings())] == [name]


def test_workspaces_bringing_their_own_keys_need_no_operator_key(
    clean_env: pytest.MonkeyPatch,
) -> None:
    own_keys = settings(
        slack_bot_token="xoxb-1", slack_signing_secret="s3cret", tunebot_secret_key="k1"
    )
    assert missing_settings(own_keys) == []
    where = {m.name: m.where for m in missing_settings(settings())}
    assert "TUNEBOT_SECRET_KEY" in where["OPENAI_API_KEY"], "offers workspace keys instead"


def test_an_empty_value_counts_as_missing(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SLACK_BOT_TOKEN", "")
    clean_env.setenv("SLACK_SIGNING_SECRET", "s3cret")
    clean_env.setenv("OPENAI_API_KEY", "sk-1")
    assert [m.name for m in missing_settings(settings())] == ["SLACK_BOT_TOKEN"]


def test_serve_with_an_empty_environment_exits_2_naming_every_missing_setting(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [str(TUNEBOT), "serve", "--host", "127.0.0.1", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )

    assert done.returncode == 2, done.stderr
    for name in REQUIRED:
        assert f"  {name}: " in done.stderr
    assert ".env.example" in done.stderr
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == [], "nothing (no database) is created before the check"
