""" "Fix and re-upload": the corrected file goes into the thread and is checked as a new dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finetuning.datasets.fixes import fix_file, planned_fixes
from finetuning.datasets.library import DatasetNotFoundError, Origin
from handlers.slack.blocks.report import report_blocks
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.slack_calls import slack_transient_as_retry


def run_fix(deps: SlackDeps, payload: dict[str, Any]) -> None:
    team, channel, user = payload["team"], payload["channel"], payload["user"]
    client = deps.clients.for_team(team)
    with slack_transient_as_retry():
        try:
            dataset = deps.library.get(team, payload["dataset"])
        except DatasetNotFoundError:
            client.chat_postEphemeral(
                channel=channel, user=user, text="That dataset is gone; upload the file again."
            )
            return
        if dataset.normalized_path is None or not dataset.normalized_path.exists():
            client.chat_postEphemeral(
                channel=channel, user=user, text="The stored file is gone; upload it again."
            )
            return
        fixed_dir = deps.data_dir / "fixed"
        fixed_dir.mkdir(parents=True, exist_ok=True)
        fixed_name = f"{Path(dataset.file_name).stem}-fixed.jsonl"
        result = fix_file(
            dataset.normalized_path, dataset.report, fixed_dir / f"{dataset.sha256}.jsonl"
        )
        thread_ts = dataset.thread_ts or payload.get("thread_ts")
        changes = "\n".join(f"• {change}" for change in result.changes) or "• nothing to change"
        client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            file=str(result.path),
            filename=fixed_name,
            title=fixed_name,
            initial_comment=f"Fixed {dataset.short_id} for <@{user}>:\n{changes}",
        )
        fixed = deps.library.ingest(
            result.path,
            Origin(
                workspace_id=team,
                file_name=fixed_name,
                channel_id=channel,
                thread_ts=thread_ts,
                uploader_id=user,
            ),
            fixed_from=dataset.id,
        )
        text, blocks = report_blocks(
            fixed.report,
            fixed.short_id,
            can_start=fixed.valid,
            fixable=planned_fixes(fixed.report),
            command=deps.command,
        )
        posted = client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=blocks
        )
        if fixed.created:
            deps.library.mark_reported(fixed.id, str(posted["ts"]))
