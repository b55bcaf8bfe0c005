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
    "audit": Subcommand(positional=1),
    "budget": Subcommand(),
    "key": Subcommand(positional=1),
    "use": Subcommand(
        positional=1,
        required=1,
        options=frozenset({"system", "temperature", "max_tokens"}),
        integers=frozenset({"max_tokens"}),
    ),
}

FREE_TEXT = frozenset({"ask", "compare"})
"""Subcommands whose rest is a question in the user's own words: not split by shell rules (an
apostrophe in "what's" would be an unclosed quote) and never read as options."""

PRIVATE_FLAG = "--private"
_PRIVATE_WORD = re.compile(r"(?<!\S)--private(?!\S)")

_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
"""Slack's clients may turn typed quotes into typographic ones; shlex only knows plain ones."""


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    arguments: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    text: str = ""
    """For free-text subcommands: everything after the name, as typed (minus `--private`)."""
    private: bool = False

    def integer(self, name: str) -> int | None:
        value = self.options.get(name)
        return int(value) if value is not None else None


def parse_command(text: str) -> ParsedCommand:
    """Parse `start ds-3 model=gpt-4o-mini epochs=3`; an empty text means `help`."""
    head, _, rest = text.strip().partition(" ")
    if head.lower() in FREE_TEXT:
        return _free_text(head.lower(), rest)
    try:
        words = shlex.split(text.strip().translate(_SMART_QUOTES))
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


def _free_text(name: str, rest: str) -> ParsedCommand:
    """`ask [MODEL] question` and `compare A B question`: which words are models is for the
    caller to decide (it knows the catalog); here only the flag is taken out."""
    words = rest.split()
    private = PRIVATE_FLAG in words
    if private:
        words = [word for word in words if word != PRIVATE_FLAG]
        rest = _PRIVATE_WORD.sub(" ", rest)
    needed = 3 if name == "compare" else 1
    if len(words) < needed:
        usage = "compare MODEL_A MODEL_B question" if name == "compare" else "ask [MODEL] question"
        raise CommandError(f"usage: `{usage}`")
    return ParsedCommand(name, words, text=rest.strip(), private=private)
