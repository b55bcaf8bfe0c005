"""The Slack app manifest: the committed file is the code's rendering, and it asks for enough."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from handlers.slack.manifest import manifest, manifest_yaml

ROOT = Path(__file__).resolve().parents[2]
TUNEBOT = Path(sys.executable).parent / "tunebot"
URL_KEYS = {"url", "request_url"}


def urls(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) whose key names a request URL, anywhere in the manifest."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in URL_KEYS:
                yield f"{path}.{key}", inner
            yield from urls(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from urls(inner, f"{path}[{index}]")


def test_the_committed_manifest_is_the_default_rendering() -> None:
    assert ROOT.joinpath("manifest.yml").read_text(encoding="utf-8") == manifest_yaml()


def test_the_yaml_is_the_manifest() -> None:
    assert yaml.safe_load(manifest_yaml()) == manifest()


def test_http_mode_points_every_request_url_at_the_events_endpoint() -> None:
    parsed = yaml.safe_load(manifest_yaml(url="https://bot.example.org/"))

    found = dict(urls(parsed))

    assert set(found) == {
        ".features.slash_commands[0].url",
        ".settings.event_subscriptions.request_url",
        ".settings.interactivity.request_url",
    }
    assert set(found.values()) == {"https://bot.example.org/slack/events"}
    assert parsed["settings"]["socket_mode_enabled"] is False


def test_socket_mode_has_no_request_urls() -> None:
    parsed = yaml.safe_load(manifest_yaml(socket_mode=True))

    assert list(urls(parsed)) == []
    assert parsed["settings"]["socket_mode_enabled"] is True
    assert parsed["settings"]["interactivity"]["is_enabled"] is True
    assert parsed["features"]["slash_commands"][0]["command"] == "/finetune"


@pytest.mark.parametrize("scope", ["files:read", "chat:write", "commands"])
def test_the_scopes_the_app_relies_on_are_requested(scope: str) -> None:
    assert scope in manifest()["oauth_config"]["scopes"]["bot"]


def test_file_share_messages_are_subscribed() -> None:
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]
    assert {"message.channels", "message.groups"} <= set(events)


def test_the_installed_cli_prints_the_manifest(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(TUNEBOT), "manifest"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ROOT.joinpath("manifest.yml").read_text(encoding="utf-8")


def test_the_cli_options_reach_the_manifest() -> None:
    runner = CliRunner()

    http = runner.invoke(app, ["manifest", "--url", "https://bot.example.org"])
    socket = runner.invoke(app, ["manifest", "--socket-mode"])

    assert http.exit_code == 0 and socket.exit_code == 0
    assert http.stdout == manifest_yaml(url="https://bot.example.org")
    assert socket.stdout == manifest_yaml(socket_mode=True)


def test_http_mode_lists_the_oauth_redirect_url_and_socket_mode_none() -> None:
    http = manifest(url="https://bot.example.org/")
    socket = manifest(socket_mode=True)

    assert http["oauth_config"]["redirect_urls"] == ["https://bot.example.org/slack/oauth_redirect"]
    assert "redirect_urls" not in socket["oauth_config"]


def test_uninstalls_and_revoked_tokens_are_subscribed() -> None:
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)
