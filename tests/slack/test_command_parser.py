"""`/finetune` text: what each subcommand accepts, and a clear complaint for everything else."""

from __future__ import annotations

import pytest

from handlers.slack.command_parser import (
    SUBCOMMANDS,
    CommandError,
    ParsedCommand,
    parse_command,
)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_an_empty_command_means_help(text: str) -> None:
    assert parse_command(text) == ParsedCommand("help")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start", ParsedCommand("start")),
        ("START", ParsedCommand("start")),
        ("start ds-3", ParsedCommand("start", ["ds-3"])),
        (
            "start ds-3 model=gpt-4o-mini epochs=3 suffix=support_v2 validation=ds-4 seed=-7",
            ParsedCommand(
                "start",
                ["ds-3"],
                {
                    "model": "gpt-4o-mini",
                    "epochs": "3",
                    "suffix": "support_v2",
                    "validation": "ds-4",
                    "seed": "-7",
                },
            ),
        ),
        ("start Model=gpt-4o", ParsedCommand("start", [], {"model": "gpt-4o"})),
        (
            "start model=ft:gpt-4o-mini:acme::abc123",
            ParsedCommand("start", [], {"model": "ft:gpt-4o-mini:acme::abc123"}),
        ),
        ("status", ParsedCommand("status")),
        ("status job-4", ParsedCommand("status", ["job-4"])),
        ("list all", ParsedCommand("list", ["all"])),
        ("cancel job-2", ParsedCommand("cancel", ["job-2"])),
        ("pause job-2", ParsedCommand("pause", ["job-2"])),
        ("resume ftjob-abc", ParsedCommand("resume", ["ftjob-abc"])),
        ("events ftjob-abc", ParsedCommand("events", ["ftjob-abc"])),
        ("models", ParsedCommand("models")),
        ("delete ft:gpt-4o-mini:acme::x1", ParsedCommand("delete", ["ft:gpt-4o-mini:acme::x1"])),
        ("help start", ParsedCommand("help", ["start"])),
        ('start "ds-3"', ParsedCommand("start", ["ds-3"])),
        ("  start   ds-3  ", ParsedCommand("start", ["ds-3"])),
    ],
)
def test_valid_commands(text: str, expected: ParsedCommand) -> None:
    assert parse_command(text) == expected


def test_a_value_may_contain_equals_signs() -> None:
    assert parse_command("start suffix=a=b").options == {"suffix": "a=b"}


def test_integer_options_read_as_integers() -> None:
    parsed = parse_command("start epochs=4 seed=-2")
    assert parsed.integer("epochs") == 4
    assert parsed.integer("seed") == -2
    assert parsed.integer("missing") is None


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("train ds-1", "unknown subcommand 'train'"),
        ("start color=red", "takes no option 'color'"),
        ("status model=gpt-4o", "`status` takes no option 'model'"),
        ("start model=", "option 'model' needs a value"),
        ("start epochs=three", "epochs must be a whole number, not 'three'"),
        ("start epochs=2.5", "epochs must be a whole number"),
        ("start seed=1e3", "seed must be a whole number"),
        ("start ds-1 ds-2", "`start` takes at most 1 argument(s)"),
        ("models gpt-4o", "`models` takes at most 0 argument(s)"),
        ("cancel", "`cancel` needs an id"),
        ("events", "`events` needs an id"),
        ("delete", "`delete` needs an id"),
        ('start "ds-1', "could not read the command"),
    ],
)
def test_invalid_commands_say_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert complaint in str(caught.value)


@pytest.mark.parametrize(
    ("text", "option"),
    [("start epochs=--3", "epochs"), ("start seed=-", "seed"), ("start epochs=\u00b2", "epochs")],
)
def test_an_integer_option_either_is_refused_or_reads_as_an_integer(text: str, option: str) -> None:
    """The listener calls `integer()` after parsing: it must never raise there."""
    try:
        parsed = parse_command(text)
    except CommandError:
        return
    assert isinstance(parsed.integer(option), int)


def test_every_subcommand_parses_bare_or_says_it_needs_an_id() -> None:
    for name, spec in SUBCOMMANDS.items():
        if spec.required:
            with pytest.raises(CommandError, match="needs"):
                parse_command(name)
        else:
            assert parse_command(name).name == name
