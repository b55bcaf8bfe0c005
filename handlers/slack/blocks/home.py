"""The bot's Home tab: the workspace's recent datasets and jobs."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from finetuning.overview import Overview
from handlers.slack.blocks.jobs import STATUS_MARK, UNKNOWN_STATUS_MARK
from handlers.slack.blocks.layout import context, section
from handlers.slack.blocks.text import code, escape_mrkdwn, mention, slack_date, usd


def home_view(overview: Overview, *, command: str = "/finetune") -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text="Fine-tuning in this workspace")]
    blocks.append(section("*Recent jobs*"))
    if not overview.jobs:
        blocks.append(
            context(f"No jobs yet. Drop a training file in a channel, then `{command} start`.")
        )
    for job in overview.jobs:
        mark = STATUS_MARK.get(job.status, UNKNOWN_STATUS_MARK)
        cost = job.actual_cost_usd if job.actual_cost_usd is not None else job.estimated_cost_usd
        parts = [
            f"{mark} {code(job.short_id)} *{job.status.replace('_', ' ')}*",
            code(job.fine_tuned_model or job.base_model),
            f"on {code(job.dataset_short_id)}",
        ]
        if cost is not None:
            parts.append(usd(cost) if job.actual_cost_usd is not None else f"≈{usd(cost)}")
        if job.started_by:
            parts.append(f"by {mention(job.started_by)}")
        parts.append(slack_date(job.created_at))
        blocks.append(section(" · ".join(parts)))
    blocks.append(DividerBlock())
    blocks.append(section("*Recent datasets*"))
    if not overview.datasets:
        blocks.append(context("No datasets yet."))
    for dataset in overview.datasets:
        mark = ":white_check_mark:" if dataset.valid else ":x:"
        report = dataset.report
        blocks.append(
            section(
                f"{mark} {code(dataset.short_id)} {escape_mrkdwn(dataset.file_name)} · "
                f"{report.format.value if report.format else 'unknown format'} · "
                f"{report.examples:,} examples · {report.tokens.total:,} tokens"
            )
        )
    return View(type="home", blocks=blocks[:100]).to_dict()
