"""Talking with tuned models in chat: bindings, conversations, prompts and replies.

A channel (or one thread) is bound to a model; mentioning the bot there starts a conversation
in a thread, whose turns are stored once each and shown to the model, trimmed to its window.
"""

from finetuning.conversations.bindings import Binding, BindingStore
from finetuning.conversations.errors import (
    ContextTooLongError,
    ModelNotFoundError,
    ModelNotReadyError,
    ModelRefError,
)
from finetuning.conversations.profile import ModelProfile, ModelProfiles
from finetuning.conversations.prompt import (
    ChatPrompt,
    CompletionPrompt,
    EmptyConversationError,
    Question,
    chat_prompt,
    completion_prompt,
)
from finetuning.conversations.resolve import ModelResolver
from finetuning.conversations.settings import InvalidSettingsError, ReplySettings
from finetuning.conversations.store import Conversation, ConversationStore, Turn
from finetuning.conversations.talk import (
    Classification,
    Talk,
    TalkError,
    TalkProblem,
    TalkResult,
    TalkStream,
    talk_error,
)

__all__ = [
    "Binding",
    "BindingStore",
    "ChatPrompt",
    "Classification",
    "CompletionPrompt",
    "ContextTooLongError",
    "Conversation",
    "ConversationStore",
    "EmptyConversationError",
    "InvalidSettingsError",
    "ModelNotFoundError",
    "ModelNotReadyError",
    "ModelProfile",
    "ModelProfiles",
    "ModelRefError",
    "ModelResolver",
    "Question",
    "ReplySettings",
    "Talk",
    "TalkError",
    "TalkProblem",
    "TalkResult",
    "TalkStream",
    "Turn",
    "chat_prompt",
    "completion_prompt",
    "talk_error",
]
