"""`tunebot validate` and `tunebot models` as a user runs them: the installed command, a real
process, exit status, stdout and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from finetuning.datasets.models import default_catalog
from tests.datasets.builders import (
    SYSTEM,
    chats,
    example,
    jsonl_bytes,
    jsonl_file,
    user,
    write,
)

TUNEBOT = Path(sys.executable).parent / "tunebot"


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in `cwd` (no .env there) with a wide, plain terminal and no TUNEBOT_ settings."""
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("TUNEBOT_")}
    environment |= {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"} | (env or {})
    return subprocess.run(
        [str(TUNEBOT), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def valid_file(tmp_path: Path) -> Path:
    return jsonl_file(chats(60))(tmp_path)


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    lines = chats(12, line5=b'{"messages": [', line8=example(SYSTEM, user(8)))
    return jsonl_file(lines, name="bad.jsonl")(tmp_path)


def test_a_valid_file_exits_0(valid_file: Path) -> None:
    result = run("validate", str(valid_file), cwd=valid_file.parent)
    assert result.returncode == 0, result.stderr
    assert "ready to train" in result.stdout
    assert "60" in result.stdout
    assert "gpt-4o-mini-2024-07-18" in result.stdout


def test_a_file_with_errors_exits_1_and_names_codes_and_lines(bad_file: Path) -> None:
    result = run("validate", str(bad_file), cwd=bad_file.parent)
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "will not train" in out
    assert "invalid_json" in out
    assert "line 5: column" in out
    assert "example_missing_assistant_message" in out
    assert "line 8" in out
    assert "small_dataset" in out  # warnings are listed too


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope.jsonl"), cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [("--no-such-flag",), ("--epochs", "0"), ("--epochs", "many")],
    ids=["unknown-flag", "zero-epochs", "text-epochs"],
)
def test_bad_flags_exit_2(valid_file: Path, args: tuple[str, ...]) -> None:
    result = run("validate", str(valid_file), *args, cwd=valid_file.parent)
    assert result.returncode == 2
    assert result.stderr
    assert "ready to train" not in result.stdout


def test_an_unknown_model_exits_2_listing_the_known_ones(valid_file: Path) -> None:
    result = run("validate", str(valid_file), "--model", "gpt-9", cwd=valid_file.parent)
    assert result.returncode == 2
    assert "gpt-9" in result.stderr
    for spec in default_catalog().models:
        assert spec.id in result.stderr
    assert result.stdout == ""


def test_json_output_and_normalized_file(tmp_path: Path) -> None:
    lines = chats(12, line3=example(SYSTEM, user(3)))
    content = b"\xef\xbb\xbf" + jsonl_bytes(lines, newline=b"\r\n") + b"\r\n\r\n"
    source = write(tmp_path, content, "train.jsonl")
    output = tmp_path / "clean.jsonl"
    result = run(
        "validate",
        str(source),
        "--json",
        "--model",
        "gpt-3.5-turbo",
        "--epochs",
        "2",
        "--output",
        str(output),
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["format"] == "chat"
    assert report["examples"] == 12
    [error] = report["errors"]
    assert error["code"] == "example_missing_assistant_message"
    assert error["lines"] == [3]
    assert error["message"] and error["severity"] == "error"
    assert [w["code"] for w in report["warnings"]] == ["small_dataset"]
    assert report["warnings"][0]["lines"] == []
    tokens = report["tokens"]
    assert tokens["encoding"] == "cl100k_base"
    assert 0 < tokens["max_example"] < tokens["total"] == tokens["billed_per_epoch"]
    estimate = report["estimate"]
    assert estimate["model"] == "gpt-3.5-turbo-0125"
    assert estimate["epochs"] == 2
    assert estimate["billed_tokens"] == 2 * tokens["billed_per_epoch"]
    assert estimate["cost_usd"] == round(estimate["billed_tokens"] * 8.0 / 1e6, 4)
    assert report["file"]["name"] == "train.jsonl"
    assert output.read_bytes() == jsonl_bytes(lines)


def test_price_overrides_from_the_environment(valid_file: Path) -> None:
    result = run(
        "validate",
        str(valid_file),
        "--json",
        cwd=valid_file.parent,
        env={"TUNEBOT_PRICES": '{"gpt-4o-mini": 0.5}', "TUNEBOT_DEFAULT_MODEL": "gpt-4o-mini"},
    )
    assert result.returncode == 0, result.stderr
    estimate = json.loads(result.stdout)["estimate"]
    assert estimate["usd_per_million_tokens"] == 0.5
    assert estimate["cost_usd"] == round(estimate["billed_tokens"] * 0.5 / 1e6, 4)


def test_csv_is_validated_and_written_as_jsonl(tmp_path: Path) -> None:
    rows = "".join(f'"Question {i}?\n\n###\n\n"," Answer {i}. END"\n' for i in range(60))
    source = write(tmp_path, ("prompt,completion\n" + rows).encode(), "legacy.csv")
    output = tmp_path / "legacy.jsonl"
    result = run("validate", str(source), "--json", "--output", str(output), cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert (report["format"], report["estimate"]["model"]) == ("prompt_completion", "babbage-002")
    written = [json.loads(line) for line in output.read_text().splitlines()]
    assert written[7] == {"prompt": "Question 7?\n\n###\n\n", "completion": " Answer 7. END"}
    assert len(written) == 60


def test_models_lists_every_model(tmp_path: Path) -> None:
    result = run("models", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for spec in default_catalog().models:
        assert spec.id in result.stdout
    assert default_catalog().read_on in result.stdout
