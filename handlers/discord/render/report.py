"""The validation report in an attachment's thread, as embeds.

The first embed answers "will it train, what will it cost"; one embed per kind of problem
follows, with its line numbers and fix hint. `limits.batches` spreads them over messages.
The footer names what the report is about (the attachment, or the fix that made the file): a
retried task finds a report it posted by it.
"""

from __future__ import annotations

import discord

from finetuning.datasets.findings import Finding, Severity
from finetuning.datasets.report import ValidationReport
from handlers.discord.render.style import BAD, OK, QUIET, WARN

SHOWN_LINES = 5
DETAIL_LIMIT = 160
_MARK = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
REPORT_FOOTER = "tunebot report · attachment {attachment}"
FIX_FOOTER = "tunebot report · {fixed} fixed from {source}"


def report_footer(attachment_id: int | str) -> str:
    return REPORT_FOOTER.format(attachment=attachment_id)


def fix_footer(fixed_short_id: str, source_short_id: str) -> str:
    """The footer of a fixed file's report: its attachment's id is only known once posted."""
    return FIX_FOOTER.format(fixed=fixed_short_id, source=source_short_id)


def report_embeds(
    report: ValidationReport, short_id: str, *, footer: str, fixable: list[str]
) -> list[discord.Embed]:
    estimate = report.estimate
    verdict = (
        "✅ Ready to fine-tune" if report.valid else f"❌ {len(report.errors)} problem(s) to fix"
    )
    summary = discord.Embed(
        title=f"{short_id} · {report.file_name}",
        colour=OK if report.valid else BAD,
        description=verdict,
    )
    summary.add_field(name="Format", value=report.format.value if report.format else "unknown")
    summary.add_field(name="Examples", value=f"{report.examples:,}")
    summary.add_field(name="Billed tokens / epoch", value=f"{estimate.billed_tokens_per_epoch:,}")
    summary.add_field(name="Model", value=f"`{estimate.model}`")
    summary.add_field(name="Epochs", value=f"{estimate.epochs} ({estimate.epochs_source})")
    summary.add_field(name="Estimated cost", value=f"${estimate.cost_usd:,.2f}")
    if fixable:
        summary.add_field(
            name="Fix and re-upload would", value="\n".join(f"• {f}" for f in fixable), inline=False
        )
    summary.set_footer(text=footer)
    embeds = [summary]
    for finding in sorted(report.findings, key=lambda f: _ORDER[f.severity]):
        embeds.append(_finding_embed(finding))
    return embeds


def _finding_embed(finding: Finding) -> discord.Embed:
    colour = {Severity.ERROR: BAD, Severity.WARNING: WARN, Severity.INFO: QUIET}[finding.severity]
    lines: list[str] = []
    for index, line in enumerate(finding.lines[:SHOWN_LINES]):
        detail = finding.details[index] if index < len(finding.details) else ""
        detail = detail if len(detail) <= DETAIL_LIMIT else detail[: DETAIL_LIMIT - 1] + "…"
        lines.append(f"line {line}" + (f": {detail}" if detail else ""))
    if not finding.lines and finding.details:
        lines.append(finding.details[0])
    more = finding.count - min(len(finding.lines), SHOWN_LINES)
    if more > 0:
        lines.append(f"…and {more:,} more")
    lines.append(f"**Fix:** {finding.kind.hint}")
    return discord.Embed(
        title=f"{_MARK[finding.severity]} {finding.kind.message} ({finding.code})",
        colour=colour,
        description="\n".join(lines),
    )
