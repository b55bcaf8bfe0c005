"""What an earlier attempt of a task already posted in a thread.

A task that dies after Slack took its post but before it heard back runs again, and Slack's
Web API has no idempotency key. So a retry reads the thread first and picks up what is there:
a report carries message metadata naming the file it is about; an upload is known by its file
name and the words it was posted with.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

REPORT_EVENT = "tunebot_report"
"""Message metadata marking a dataset report, so a retried task can find one it posted."""


def report_metadata(file_id: str) -> dict[str, Any]:
    """The metadata a report about the Slack file `file_id` is posted with."""
    return {"event_type": REPORT_EVENT, "event_payload": {"file": file_id}}


class ThreadSoFar:
    """One read of a thread's replies, searched for what an earlier attempt posted."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self._messages = messages

    @classmethod
    def read(cls, client: WebClient, channel: str, thread_ts: str) -> ThreadSoFar:
        replies = client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True
        )
        return cls(list(replies.get("messages") or []))

    def report_about(self, file_id: str) -> str | None:
        """The ts of the report posted about `file_id`, if one is here."""
        for message in self._messages:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == REPORT_EVENT and payload.get("file") == file_id:
                return str(message["ts"])
        return None

    def upload(self, file_name: str, said: str) -> str | None:
        """The id of a file named `file_name` posted with words starting `said`, if here."""
        for message in self._messages:
            if not str(message.get("text") or "").startswith(said):
                continue
            for file in message.get("files") or []:
                if file.get("name") == file_name:
                    return str(file["id"])
        return None
