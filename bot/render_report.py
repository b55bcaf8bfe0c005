"""The human form of a validation report for a terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from finetuning.datasets.findings import Finding, Severity
from finetuning.datasets.report import ValidationReport

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_SHOWN_LINES = 5


def _where(finding: Finding) -> list[str]:
    """`line N: detail` for the first few occurrences, then how many more."""
    rows = [
        f"line {line}: {detail}" if detail else f"line {line}"
        for line, detail in zip(finding.lines[:_SHOWN_LINES], finding.details, strict=False)
    ]
    if not finding.lines:
        rows = [detail for detail in finding.details[:_SHOWN_LINES] if detail]
    hidden = finding.count - min(len(finding.lines), _SHOWN_LINES)
    if finding.lines and hidden > 0:
        rows.append(f"… and {hidden:,} more")
    return rows


def print_report(report: ValidationReport, console: Console) -> None:
    """A summary table, then every finding grouped by code, worst first."""
    verdict = "[bold green]ready to train[/]" if report.valid else "[bold red]will not train[/]"
    table = Table(title=f"{report.file_name}: {verdict}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    estimate = report.estimate
    table.add_row("format", f"{report.format or 'unknown'} (from {report.source_format})")
    table.add_row("examples", f"{report.examples:,}")
    table.add_row(
        "tokens",
        f"{report.tokens.total:,} in all, {report.tokens.max_example:,} in the longest example "
        f"(line {report.tokens.max_example_line}), {report.tokens.encoding}",
    )
    table.add_row(
        "estimate",
        f"{estimate.model}: {estimate.epochs} epochs ({estimate.epochs_source}), "
        f"{estimate.billed_tokens:,} billed tokens, ${estimate.cost_usd:,.2f} "
        f"(at ${estimate.usd_per_million:g}/1M, prices of {report.prices_read_on})",
    )
    table.add_row(
        "findings",
        f"{len(report.errors)} errors, {len(report.warnings)} warnings, {len(report.notes)} notes",
    )
    console.print(table)
    for finding in report.findings:
        style = _STYLE[finding.severity]
        console.print(
            f"[{style}]{finding.severity.value}[/] [bold]{finding.code}[/] "
            f"({finding.count:,}×): {finding.kind.message}",
            highlight=False,
        )
        for row in _where(finding):
            console.print(f"    {row}", highlight=False, markup=False)
        console.print(f"    [dim]fix: {finding.kind.hint}[/]", highlight=False)
