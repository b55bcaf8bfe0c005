"""OpenAI's webhooks for fine-tuning jobs: verified with the SDK, reduced to the job they name."""

from __future__ import annotations

from collections.abc import Mapping

import openai

JOB_EVENTS = frozenset(
    {"fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled"}
)


class WebhookRejectedError(Exception):
    """The delivery is not from OpenAI (bad or missing signature, stale timestamp, bad body)."""


def job_from_webhook(
    client: openai.OpenAI, body: bytes, headers: Mapping[str, str], secret: str
) -> str | None:
    """The fine-tuning job id a verified delivery is about; None for other event types.

    `client.webhooks.unwrap` checks the Standard Webhooks signature and the timestamp (replays
    older than five minutes are refused).
    """
    try:
        event = client.webhooks.unwrap(body, headers, secret=secret)
    except openai.InvalidWebhookSignatureError as exc:
        raise WebhookRejectedError(str(exc)) from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise WebhookRejectedError(f"unreadable delivery: {exc}") from exc
    if getattr(event, "type", None) not in JOB_EVENTS:
        return None
    data = getattr(event, "data", None)
    job_id = getattr(data, "id", None)
    return job_id if isinstance(job_id, str) else None
