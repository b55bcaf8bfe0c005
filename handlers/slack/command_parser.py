"""`/finetune` text into a subcommand with arguments, or a clear complaint.

Slack gives a slash command one string; Discord gives typed options. The parsing is therefore
Slack's own, and it stops at naming what was asked: the domain does the rest.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_INTEGER = re.compile(r"-?[0-9]+")
"""ASCII digits only: str.isdigit() also takes '²', which int() then refuses."""


class CommandError(ValueError):
    """The text is not a valid command; the message says what is wrong."""


@dataclass(frozen=True)
class Subcommand:
    """What a subcommand accepts."""

    positional: int = 0
    required: int = 0
    options: frozenset[str] = frozenset()
    integers: frozenset[str] = frozenset()


SUBCOMMANDS: dict[str, Subcommand] = {
    "start": Subcommand(
        positional=1,
        options=frozenset({"model", "epochs", "suffix", "validation", "seed"}),
        integers=frozenset({"epochs", "seed"}),
    ),
    "status": Subcommand(positional=1),
    "list": Subcommand(positional=1),
    "cancel": Subcommand(positional=1, required=1),
    "pause": Subcommand(positional=1, required=1),
    "resume": Subcommand(positional=1, required=1),
    "events": Subcommand(positional=1, required=1),
    "models": Subcommand(),
    "delete": Subcommand(positional=1, required=1),
    "help": Subcommand(positional=1),
}


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    arguments: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)

    def integer(self, name: str) -> int | None:
        value = self.options.get(name)
        return int(value) if value is not None else None


def parse_command(text: str) -> ParsedCommand:
    """Parse `start ds-3 model=gpt-4o-mini epochs=3`; an empty text means `help`."""
    try:
        words = shlex.split(text.strip())
    except ValueError as exc:
        raise CommandError(f"could not read the command: {exc}") from exc
    if not words:
        return ParsedCommand("help")
    name = words[0].lower()
    spec = SUBCOMMANDS.get(name)
    if spec is None:
        raise CommandError(f"unknown subcommand {words[0]!r}")
    arguments: list[str] = []
    options: dict[str, str] = {}
    for word in words[1:]:
        key, equals, value = word.partition("=")
        if equals:
            key = key.lower()
            if key not in spec.options:
                raise CommandError(f"`{name}` takes no option {key!r}")
            if not value:
                raise CommandError(f"option {key!r} needs a value")
            if key in spec.integers and not _INTEGER.fullmatch(value):
                raise CommandError(f"{key} must be a whole number, not {value!r}")
            options[key] = value
        else:
            arguments.append(word)
    if len(arguments) > spec.positional:
        raise CommandError(f"`{name}` takes at most {spec.positional} argument(s)")
    if len(arguments) < spec.required:
        raise CommandError(f"`{name}` needs {'an id' if spec.required == 1 else 'arguments'}")
    return ParsedCommand(name, arguments, options)
