"""Whose OpenAI account a workspace works in: sealed per-workspace keys and the clients for them."""

from .accounts import Account, Accounts, NoOpenAIKeyError
from .secret_box import SecretBox, SecretBoxError, new_secret_key
from .workspace_keys import KeysDisabledError, KeyStatus, WorkspaceKeys

__all__ = [
    "Account",
    "Accounts",
    "KeyStatus",
    "KeysDisabledError",
    "NoOpenAIKeyError",
    "SecretBox",
    "SecretBoxError",
    "WorkspaceKeys",
    "new_secret_key",
]
