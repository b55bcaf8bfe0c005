"""The validation report posted in an uploaded file's thread.

It must answer three questions at a glance (will it train, what will it cost, what is wrong) and
stay one valid Slack message whatever the file holds: a file with every mistake on every line
still renders, shortened, with the buttons intact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)

from finetuning.datasets.findings import Finding, Severity
from finetuning.datasets.fixes import planned_fixes
from finetuning.datasets.library import StoredDataset
from finetuning.datasets.report import ValidationReport
from handlers.slack.blocks.layout import context, mrkdwn, section, text_size, to_dicts
from handlers.slack.blocks.limits import (
    FALLBACK_TEXT_LIMIT,
    MAX_BLOCKS,
    MAX_FIELD_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MESSAGE_TEXT_BUDGET,
)
from handlers.slack.blocks.text import (
    code,
    escape_mrkdwn,
    format_count,
    format_tokens,
    one_line,
    truncate,
    usd,
)

START_ACTION = "start_finetune"
FIX_ACTION = "fix_dataset"
ACTIONS_BLOCK_ID = "dataset_actions"
SMALL_DATASET = "small_dataset"

SHOWN_LINES = 3
"""Lines with details shown per finding: enough to find the pattern, short enough to scan."""
SHOWN_BARE_LINES = 8
"""Line numbers shown when the lines carry no detail (a list of numbers reads quickly)."""
DETAIL_LIMIT = 160
"""Characters of one detail; details quote user data of any length."""
NOTE_RESERVE = 700
"""Characters kept free for the note saying what was left out."""
NOTE_CODES_LIMIT = 400
"""Characters of the list of codes left out, so the note's advice is never the part cut."""

_MARK = {
    Severity.ERROR: ":x:",
    Severity.WARNING: ":warning:",
    Severity.INFO: ":information_source:",
}
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def stored_report_blocks(
    dataset: StoredDataset, *, command: str = "/finetune"
) -> tuple[str, list[dict[str, Any]]]:
    """`report_blocks` for a stored dataset, with the buttons it allows: Start when it is
    valid, Fix and re-upload when a fix would change something."""
    return report_blocks(
        dataset.report,
        dataset.short_id,
        can_start=dataset.valid,
        fixable=planned_fixes(dataset.report),
        command=command,
    )


def report_blocks(
    report: ValidationReport,
    dataset_short_id: str,
    *,
    can_start: bool,
    fixable: list[str],
    command: str = "/finetune",
) -> tuple[str, list[dict[str, Any]]]:
    """The notification text and the blocks of the report on one dataset.

    `fixable` lists, in plain words, what **Fix and re-upload** would change; the button shows
    only when there is something to fix, and **Start fine-tune** only when `can_start`.
    """
    head = _head(report, dataset_short_id, command)
    tail = _tail(dataset_short_id, can_start=can_start, fixable=fixable)
    findings = sorted(
        (f for f in report.findings if f.code != SMALL_DATASET), key=lambda f: _ORDER[f.severity]
    )
    fixed = to_dicts(head) + to_dicts(tail)
    body = _findings(
        findings,
        blocks=MAX_BLOCKS - len(head) - len(tail),
        chars=MESSAGE_TEXT_BUDGET - text_size(fixed),
    )
    return _fallback(report, dataset_short_id), to_dicts([*head, *body, *tail])


def _fallback(report: ValidationReport, short_id: str) -> str:
    name = escape_mrkdwn(one_line(report.file_name))
    short_id = escape_mrkdwn(short_id)
    if report.valid:
        text = (
            f"✅ {name} is ready to train as {short_id}: "
            f"{format_count(report.examples, 'example')}, "
            f"about {usd(report.estimate.cost_usd)}."
        )
    else:
        errors = sum(f.count for f in report.errors)
        text = f"❌ {name} ({short_id}) will not train: {format_count(errors, 'error')}."
    return truncate(text, FALLBACK_TEXT_LIMIT)


def _head(report: ValidationReport, short_id: str, command: str) -> list[Block]:
    verdict = "✅ Ready to train" if report.valid else "❌ Will not train"
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(
                text=truncate(f"{verdict} · {one_line(short_id)}", MAX_HEADER_TEXT), emoji=True
            )
        ),
        section(_summary(report, short_id, command)),
    ]
    small = next((f for f in report.findings if f.code == SMALL_DATASET), None)
    if small is not None:
        blocks.append(section(_small_dataset(small)))
    blocks.append(SectionBlock(fields=[mrkdwn(text, MAX_FIELD_TEXT) for text in _fields(report)]))
    if any(f.code != SMALL_DATASET for f in report.findings):
        blocks.append(DividerBlock())
    return blocks


def _summary(report: ValidationReport, short_id: str, command: str) -> str:
    counts = " · ".join(
        format_count(sum(f.count for f in group), noun)
        for group, noun in (
            (report.errors, "error"),
            (report.warnings, "warning"),
            (report.notes, "note"),
        )
    )
    name = code(one_line(report.file_name))
    if report.valid:
        usage = (
            f"Refer to it as {code(short_id)} in commands, "
            f"e.g. {code(f'{command} start {short_id}')}."
        )
    else:
        usage = f"Refer to it as {code(short_id)}. Fix the errors below and upload the file again."
    return f"{name}: {counts}\n{usage}"


def _small_dataset(finding: Finding) -> str:
    detail = next((d for d in finding.details if d), "")
    about = f" ({escape_mrkdwn(one_line(detail))})" if detail else ""
    message = finding.kind.message[:1].upper() + finding.kind.message[1:]
    return f":warning: *{escape_mrkdwn(message)}*{about}\n{escape_mrkdwn(finding.kind.hint)}"


def _fields(report: ValidationReport) -> list[str]:
    estimate = report.estimate
    tokens = report.tokens
    shape = report.format.value.replace("_", "-") if report.format is not None else "unknown"
    token_text = f"{format_tokens(tokens.total)} in all"
    if tokens.max_example_line:
        token_text += (
            f"\nlongest: {format_tokens(tokens.max_example)} (line {tokens.max_example_line:,})"
        )
    source = "the API's default" if estimate.epochs_source == "default" else "as given"
    return [
        f"*Format*\n{shape} ({escape_mrkdwn(report.source_format)})",
        f"*Examples*\n{report.examples:,}",
        f"*Tokens*\n{token_text}",
        f"*Epochs*\n{estimate.epochs} ({source})",
        f"*Billed tokens*\n{format_tokens(estimate.billed_tokens)}",
        f"*Estimated cost*\n{usd(estimate.cost_usd)} on {code(estimate.model)}\n"
        f"prices of {escape_mrkdwn(report.prices_read_on)}",
    ]


def _tail(short_id: str, *, can_start: bool, fixable: list[str]) -> list[Block]:
    blocks: list[Block] = []
    buttons: list[ButtonElement] = []
    if can_start:
        buttons.append(
            ButtonElement(
                text="Start fine-tune", action_id=START_ACTION, value=short_id, style="primary"
            )
        )
    if fixable:
        fixes = "\n".join(f"• {escape_mrkdwn(one_line(fix))}" for fix in fixable)
        blocks.append(section(f"*Fix and re-upload* would:\n{fixes}"))
        buttons.append(
            ButtonElement(text="Fix and re-upload", action_id=FIX_ACTION, value=short_id)
        )
    if buttons:
        blocks.append(ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=buttons))
    return blocks


def _findings(findings: Sequence[Finding], *, blocks: int, chars: int) -> list[Block]:
    """Every finding named if possible, the worst ones in full; a note on anything left out.

    Tries the most findings in full first and shortens from the end: one line for each of 40
    codes tells more than full details of the first 10 and silence about the rest.
    """
    blocks, chars = blocks - 1, chars - NOTE_RESERVE
    full = [_full(f) for f in findings]
    short = [_line(f) for f in findings]
    for in_full in range(len(findings), -1, -1):
        layout = _Layout(blocks=blocks, chars=chars)
        placed = layout.place_all(full[:in_full], "\n\n") + layout.place_all(
            short[in_full:], "\n", first_separator="\n\n"
        )
        if placed == len(findings):
            break
    out: list[Block] = [section(text) for text in layout.texts]
    note = _note(findings[placed:], shortened=in_full < len(findings))
    if note:
        out.append(context(note))
    return out


@dataclass
class _Layout:
    """Section texts being filled within a block and character budget."""

    blocks: int
    chars: int
    texts: list[str] = field(default_factory=list)

    def place_all(self, pieces: Sequence[str], separator: str, first_separator: str = "") -> int:
        """How many of `pieces` (from the first) fit; stops at the first that does not."""
        for count, piece in enumerate(pieces):
            joint = (first_separator or separator) if count == 0 else separator
            if not self.place(piece, joint):
                return count
        return len(pieces)

    def place(self, text: str, separator: str) -> bool:
        if self.texts and len(self.texts[-1]) + len(separator) + len(text) <= MAX_SECTION_TEXT:
            cost = len(separator) + len(text)
            if cost > self.chars:
                return False
            self.texts[-1] = f"{self.texts[-1]}{separator}{text}"
        else:
            cost = len(text)
            if cost > self.chars or len(self.texts) >= self.blocks:
                return False
            self.texts.append(text)
        self.chars -= cost
        return True


def _headline(finding: Finding) -> str:
    return (
        f"{_MARK[finding.severity]} *{escape_mrkdwn(finding.code)}* "
        f"({finding.count:,}×) {escape_mrkdwn(finding.kind.message)}"
    )


def _full(finding: Finding) -> str:
    rows = [_headline(finding), *_where(finding), f"_{escape_mrkdwn(finding.kind.hint)}_"]
    return truncate("\n".join(rows), MAX_SECTION_TEXT)


def _line(finding: Finding) -> str:
    first = f" (first: line {finding.lines[0]:,})" if finding.lines else ""
    return _headline(finding) + first


def _detail(text: str) -> str:
    return escape_mrkdwn(truncate(one_line(text), DETAIL_LIMIT))


def _where(finding: Finding) -> list[str]:
    """`line 12: detail` rows, or the bare line numbers, then how many more there are."""
    if not finding.lines:
        return [f"• {_detail(d)}" for d in finding.details[:SHOWN_LINES] if d]
    details = list(finding.details) + [""] * (len(finding.lines) - len(finding.details))
    if not any(details[:SHOWN_LINES]):
        shown = finding.lines[:SHOWN_BARE_LINES]
        label = "line" if len(shown) == 1 else "lines"
        rows = [f"• {label} " + ", ".join(f"{line:,}" for line in shown)]
    else:
        shown = finding.lines[:SHOWN_LINES]
        rows = [
            f"• line {line:,}: {_detail(detail)}" if detail else f"• line {line:,}"
            for line, detail in zip(shown, details, strict=False)
        ]
    hidden = finding.count - len(shown)
    if hidden > 0:
        rows.append(f"… and {hidden:,} more")
    return rows


def _note(omitted: Sequence[Finding], *, shortened: bool) -> str:
    if not omitted and not shortened:
        return ""
    parts = []
    if omitted:
        errors = sum(1 for f in omitted if f.severity is Severity.ERROR)
        codes = _join_within([code(f.code) for f in omitted], NOTE_CODES_LIMIT)
        parts.append(
            f"{format_count(len(omitted), 'more finding')} not shown "
            f"({format_count(errors, 'error')}): {codes}."
        )
    elif shortened:
        parts.append("Some findings are listed without their lines.")
    parts.append("Slack limits a message's size; run `tunebot validate` on the file for all.")
    return truncate(" ".join(parts), NOTE_RESERVE)


def _join_within(items: Sequence[str], limit: int) -> str:
    """Whole items joined up to `limit` characters: cutting one could leave a code span open."""
    joined = ""
    for index, item in enumerate(items):
        candidate = f"{joined}, {item}" if joined else item
        if len(candidate) > limit:
            return f"{joined} and {len(items) - index:,} more"
        joined = candidate
    return joined
