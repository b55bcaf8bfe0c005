"""Every problem the engine can report, with a stable code, a severity and a one-line fix hint.

Codes are part of the public contract (`--json`, the Slack report, tests), so they are declared
once here; the checks only say which code applies to which line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

LINES_KEPT = 10
"""How many line numbers (and details) a finding keeps; the rest is a count. A 200,000-line file
with one systematic mistake must not produce a 200,000-entry report."""


class Severity(StrEnum):
    """Errors block a job (the API would reject the file); warnings and notes do not."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class FindingKind:
    """The fixed part of a finding: what it is called, how bad it is, and how to fix it."""

    code: str
    severity: Severity
    message: str
    hint: str


def _kinds(*kinds: FindingKind) -> dict[str, FindingKind]:
    return {kind.code: kind for kind in kinds}


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

KINDS: dict[str, FindingKind] = _kinds(
    # Reading the file.
    FindingKind("unreadable_file", E, "the file cannot be read", "Export the data again."),
    FindingKind("unsafe_file", E, "the file was refused as unsafe", "Upload a plain JSONL file."),
    FindingKind(
        "invalid_encoding", E, "the text is not valid UTF-8", "Save the file as UTF-8 and retry."
    ),
    FindingKind(
        "invalid_json",
        E,
        "the line is not valid JSON",
        "Each line must be one complete JSON object; check quotes, commas and braces.",
    ),
    FindingKind(
        "blank_line",
        W,
        "blank line inside the file",
        "Remove blank lines (the normalized file drops them).",
    ),
    FindingKind("empty_file", E, "the file holds no examples", "Add training examples."),
    # The cookbook's chat-format categories.
    FindingKind(
        "data_type",
        E,
        "the example (or a message in it) is not a JSON object",
        'Write each example as an object such as {"messages": [...]}.',
    ),
    FindingKind(
        "missing_messages_list",
        E,
        "the example has no non-empty messages list",
        'Give every example a "messages" list (or prompt/completion, or input/preferred_output).',
    ),
    FindingKind(
        "message_missing_key",
        E,
        'a message lacks "role" or "content"',
        'Give every message a "role" and a "content" (assistant tool calls may omit content).',
    ),
    FindingKind(
        "message_unrecognized_key",
        E,
        "a message has a key the API does not accept",
        "Use only role, content, name, weight, tool_calls, tool_call_id, function_call.",
    ),
    FindingKind(
        "unrecognized_role",
        E,
        "a message has an unknown role",
        "Use system, developer, user, assistant, tool or function.",
    ),
    FindingKind(
        "missing_content",
        E,
        "a message has empty or non-text content",
        "Give the message text content, or an assistant message tool_calls instead.",
    ),
    FindingKind(
        "example_missing_assistant_message",
        E,
        "the example has no assistant message to learn from",
        "Add the assistant reply the model should learn.",
    ),
    # Beyond the cookbook: chat.
    FindingKind(
        "unrecognized_key",
        W,
        "the example has a top-level key that training ignores",
        "Remove keys other than messages, tools, parallel_tool_calls and functions.",
    ),
    FindingKind(
        "invalid_weight",
        E,
        'a "weight" is not 0 or 1, or is set on a non-assistant message',
        'Set "weight" only on assistant messages, to 0 (skip) or 1 (train).',
    ),
    FindingKind(
        "all_weights_zero",
        E,
        "every assistant message has weight 0, so nothing is learned",
        "Set weight 1 on at least one assistant message of the example.",
    ),
    FindingKind(
        "invalid_tools",
        E,
        "the tools (or functions) declaration is malformed",
        'Declare tools as [{"type": "function", "function": {"name": ..., "parameters": ...}}].',
    ),
    FindingKind(
        "invalid_tool_call",
        E,
        "a tool call is malformed",
        'Each tool call needs an id, type "function", and function {name, arguments (JSON text)}.',
    ),
    FindingKind(
        "undeclared_tool",
        E,
        "a tool call names a tool the example does not declare",
        'Declare every called tool in the example\'s "tools" (or "functions").',
    ),
    FindingKind(
        "missing_system_message",
        I,
        "the example has no system message",
        "Fine. If you will prompt the model with a system message, train with the same one.",
    ),
    # Preference (DPO).
    FindingKind(
        "invalid_preference_input",
        E,
        'the preference example\'s "input" has no messages list',
        'Write "input": {"messages": [...]} ending with the user turn.',
    ),
    FindingKind(
        "invalid_preference_output",
        E,
        "a preferred or non-preferred output is not one assistant message",
        'Write each output as [{"role": "assistant", "content": "..."}].',
    ),
    FindingKind(
        "preference_outputs_equal",
        E,
        "the preferred and non-preferred outputs are the same",
        "Make the non-preferred output the worse answer; equal pairs teach nothing.",
    ),
    # Prompt-completion (legacy babbage-002 / davinci-002).
    FindingKind(
        "invalid_prompt_completion",
        E,
        "the example lacks a text prompt or a non-empty completion",
        'Write each example as {"prompt": "...", "completion": "..."} with text in both.',
    ),
    FindingKind(
        "missing_prompt_separator",
        W,
        "the prompts do not end with a common separator",
        'End every prompt with the same separator, e.g. "\\n\\n###\\n\\n" (can be fixed for you).',
    ),
    FindingKind(
        "completion_missing_leading_space",
        W,
        "the completion does not start with whitespace",
        "Start every completion with a space; it tokenizes better (can be fixed for you).",
    ),
    FindingKind(
        "missing_stop_sequence",
        W,
        "the completions do not end with a common stop sequence",
        'End every completion with the same stop sequence, e.g. "\\n" or " END" (can be fixed).',
    ),
    FindingKind(
        "long_example",
        W,
        "the example is longer than 2,048 tokens",
        "Legacy models learn conditional generation best from examples under 2,048 tokens.",
    ),
    # The dataset as a whole.
    FindingKind(
        "mixed_formats",
        E,
        "the file mixes example formats",
        "Keep one format per file: chat, preference or prompt-completion.",
    ),
    FindingKind(
        "duplicate_example",
        W,
        "the example repeats an earlier one",
        "Remove duplicates; they over-weight one example (can be fixed for you).",
    ),
    FindingKind(
        "too_few_examples",
        E,
        "fewer than 10 examples: the API rejects the file",
        "Add examples; at least 10 are required and 50-100 good ones are a sensible start.",
    ),
    FindingKind(
        "small_dataset",
        W,
        "a small dataset: expect little improvement",
        "OpenAI suggests starting with 50-100 good examples; doubling the data tends to improve "
        "quality linearly.",
    ),
    FindingKind(
        "example_too_long",
        E,
        "the example is longer than the model accepts per example",
        "Shorten or split the example, or choose a model with a longer context.",
    ),
    FindingKind(
        "model_format_mismatch",
        E,
        "the chosen model cannot train on this format",
        "Choose a model that supports the format (see `tunebot models`).",
    ),
)


@dataclass
class Finding:
    """One code's occurrences in a file: the first few lines with details, and how many in all.

    `details[i]` belongs to `lines[i]`; a finding about the whole file has a detail and no line.
    """

    kind: FindingKind
    lines: list[int] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    count: int = 0

    @property
    def code(self) -> str:
        return self.kind.code

    @property
    def severity(self) -> Severity:
        return self.kind.severity

    def to_dict(self) -> dict[str, object]:
        """The JSON form documented in the README."""
        return {
            "code": self.kind.code,
            "severity": self.kind.severity.value,
            "message": self.kind.message,
            "hint": self.kind.hint,
            "lines": list(self.lines),
            "details": list(self.details),
            "count": self.count,
        }


class FindingCollector:
    """Accumulates findings in bounded memory, whatever the size of the file."""

    __slots__ = ("_by_code",)

    def __init__(self) -> None:
        self._by_code: dict[str, Finding] = {}

    def add(self, code: str, line: int, detail: str = "") -> None:
        """Record one occurrence; the line is kept only while fewer than LINES_KEPT are."""
        finding = self._by_code.get(code)
        if finding is None:
            finding = self._by_code[code] = Finding(KINDS[code])
        finding.count += 1
        if len(finding.lines) < LINES_KEPT:
            finding.lines.append(line)
            finding.details.append(_encodable(detail))

    def add_count(self, code: str, count: int) -> None:
        """Record occurrences whose lines are no longer kept (past the first few)."""
        finding = self._by_code.get(code)
        if finding is None:
            finding = self._by_code[code] = Finding(KINDS[code])
        finding.count += count

    def add_file_level(self, code: str, detail: str = "") -> None:
        """Record a finding about the file as a whole: it has a detail but no line."""
        finding = self._by_code.get(code)
        if finding is None:
            finding = self._by_code[code] = Finding(KINDS[code])
        finding.count += 1
        if len(finding.details) < LINES_KEPT:
            finding.details.append(_encodable(detail))

    def add_lines(self, code: str, lines: list[int], count: int, detail: str = "") -> None:
        """Record `count` occurrences of which `lines` are the first few."""
        for line in lines:
            self.add(code, line, detail)
        if count > len(lines):
            self.add_count(code, count - len(lines))

    def merge(self, other: FindingCollector) -> None:
        """Fold in a later part of the file (chunks are merged in file order)."""
        for code, theirs in other._by_code.items():
            mine = self._by_code.get(code)
            if mine is None:
                self._by_code[code] = Finding(
                    theirs.kind, list(theirs.lines), list(theirs.details), theirs.count
                )
                continue
            room = LINES_KEPT - len(mine.lines)
            mine.lines.extend(theirs.lines[:room])
            mine.details.extend(theirs.details[:room])
            mine.count += theirs.count

    def has(self, code: str) -> bool:
        return code in self._by_code

    def findings(self) -> list[Finding]:
        """All findings, worst first, then in the order their first line appears."""
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        return sorted(
            self._by_code.values(),
            key=lambda f: (order[f.severity], f.lines[0] if f.lines else 0, f.code),
        )


def _encodable(detail: str) -> str:
    """A detail quotes the file, and JSON may escape a lone surrogate (`"\\ud800"`) that no
    UTF-8 output can carry: it is shown as that escape, so every report can be sent and saved."""
    return detail.encode("utf-8", "backslashreplace").decode("utf-8")
