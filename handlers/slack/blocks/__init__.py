"""Block Kit rendering of tunebot's Slack messages and modals: pure functions, data in, JSON out.

Nothing here calls Slack or the database; listeners load the data, call these, and post the
result. Every renderer keeps within Slack's limits and escapes what users wrote.
"""

from finetuning.jobs.records import JobRecord
from handlers.slack.blocks.help import help_text
from handlers.slack.blocks.jobs import (
    job_failed_to_start_blocks,
    job_started_blocks,
    job_status_blocks,
)
from handlers.slack.blocks.report import report_blocks
from handlers.slack.blocks.start_modal import StartFields, parse_start_submission, start_modal

__all__ = [
    "JobRecord",
    "StartFields",
    "help_text",
    "job_failed_to_start_blocks",
    "job_started_blocks",
    "job_status_blocks",
    "parse_start_submission",
    "report_blocks",
    "start_modal",
]
