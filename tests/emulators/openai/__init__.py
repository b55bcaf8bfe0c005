"""A stateful emulator of the OpenAI API (files, uploads, fine-tuning, models, chat)."""

from .emulator import OpenAIEmulator
from .faults import RecordedRequest
from .script import JobScript
from .webhooks import WebhookDelivery

__all__ = ["JobScript", "OpenAIEmulator", "RecordedRequest", "WebhookDelivery"]
