"""Shared pytest wiring: fixtures live in `tests/fixtures/` modules, registered here."""

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.openai"]
