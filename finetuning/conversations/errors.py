"""What can stop a model from answering, before or while it talks.

Each error here is raised where it is found; `finetuning.conversations.talk.talk_error` turns any
of them (and a ProviderError) into the one `TalkError` a chat front end shows.
"""

from __future__ import annotations


class ModelRefError(ValueError):
    """A model reference that does not lead to a model one can talk to."""

    def __init__(self, ref: str, message: str) -> None:
        super().__init__(message)
        self.ref = ref
        self.message = message


class ModelNotFoundError(ModelRefError):
    """Neither OpenAI nor our catalog nor our jobs know the reference (or it was deleted)."""


class ModelNotReadyError(ModelRefError):
    """The reference is one of our jobs, which has no model (yet, or ever)."""

    def __init__(self, ref: str, job_short_id: str, status: str) -> None:
        super().__init__(ref, f"{job_short_id} is {status}: it has no model to talk to yet")
        self.job_short_id = job_short_id
        self.status = status


class ContextTooLongError(ValueError):
    """Even the newest message alone, with room for the reply, exceeds the model's window."""

    def __init__(self, *, needed: int, window: int, reserved: int) -> None:
        super().__init__(
            f"the message needs {needed} tokens plus {reserved} reserved for the reply, but the "
            f"model's context window is {window} tokens"
        )
        self.needed = needed
        self.window = window
        self.reserved = reserved
