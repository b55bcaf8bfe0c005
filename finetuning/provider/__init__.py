"""The one place tunebot talks to OpenAI: a client, a provider, snapshots, and one error type."""

from .chat import ChatMessage, ChatProvider, ReplyStream, StreamResult, Usage
from .client import ProviderSettings, make_client
from .errors import ProviderError, from_openai, hint_for
from .openai_provider import MethodType, OpenAIProvider
from .results import decode_result_file
from .snapshots import (
    TERMINAL_STATUSES,
    CheckpointSnapshot,
    JobEventSnapshot,
    JobSnapshot,
    ModelSnapshot,
)

__all__ = [
    "TERMINAL_STATUSES",
    "ChatMessage",
    "ChatProvider",
    "CheckpointSnapshot",
    "JobEventSnapshot",
    "JobSnapshot",
    "MethodType",
    "ModelSnapshot",
    "OpenAIProvider",
    "ProviderError",
    "ProviderSettings",
    "ReplyStream",
    "StreamResult",
    "Usage",
    "decode_result_file",
    "from_openai",
    "hint_for",
    "make_client",
]
