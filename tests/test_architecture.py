"""The arrows of the architecture point one way: the core knows no chat platform."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("finetuning", ("slack_bolt", "slack_sdk", "discord", "handlers", "bot")),
        ("storage", ("slack_bolt", "slack_sdk", "discord", "handlers", "bot", "finetuning")),
        ("handlers", ("bot",)),
        (
            "handlers/common",
            ("slack_bolt", "slack_sdk", "discord", "handlers.slack", "handlers.discord", "bot"),
        ),
    ],
)
def test_a_layer_imports_nothing_above_it(package, forbidden):
    offenders = {
        module: sorted(
            name for name in names if any(name == f or name.startswith(f"{f}.") for f in forbidden)
        )
        for module, names in imported_modules(package).items()
    }
    assert {module: names for module, names in offenders.items() if names} == {}
