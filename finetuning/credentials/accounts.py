"""Which OpenAI account serves a workspace, as ready-made providers.

A workspace that set a key of its own works in that key's organization and project: its jobs,
files and models live there, and only that key can see them. A workspace without one works on
the operator's `OPENAI_API_KEY`, when the operator gave one; otherwise it has no account until an
admin sets a key. Never the operator's key as a stand-in for a workspace key that stopped
working: that would spend the operator's money in the wrong organization.

Clients are built once per key and shared (each holds a connection pool); the key is read from
the database on every lookup, so a key changed on one replica is used by every other at once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass

from finetuning.provider import ChatProvider, OpenAIProvider, ProviderError, ProviderSettings
from finetuning.provider.client import make_client

from .workspace_keys import WorkspaceKeys

OPERATOR = "operator"
"""The id of the account behind `OPENAI_API_KEY`."""
MAX_CLIENTS = 256
"""Clients kept for workspace keys; the least recently used beyond this are dropped."""
NO_KEY_HINT = "An admin of this workspace sets one with `/finetune key`."


class NoOpenAIKeyError(ProviderError):
    """The workspace has no OpenAI account tunebot may use."""

    def __init__(self, message: str, *, hint: str = NO_KEY_HINT) -> None:
        super().__init__(message, code="no_api_key", hint=hint)


@dataclass(frozen=True)
class Account:
    """The providers of one OpenAI key; `id` tells accounts apart without holding the key."""

    id: str
    jobs: OpenAIProvider
    chat: ChatProvider

    @classmethod
    def of(cls, account_id: str, settings: ProviderSettings) -> Account:
        client = make_client(settings)
        return cls(account_id, OpenAIProvider(client, settings), ChatProvider(client))


class Accounts:
    """Account lookups for every workspace."""

    def __init__(
        self,
        keys: WorkspaceKeys | None,
        *,
        operator: ProviderSettings | None,
        base_url: str | None = None,
    ) -> None:
        self._keys = keys
        self._operator = Account.of(OPERATOR, operator) if operator is not None else None
        self._base_url = base_url if operator is None else operator.base_url
        self._template = operator
        self._clients: OrderedDict[str, Account] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def operator_fallback(self) -> bool:
        """Whether workspaces without a key of their own use the operator's."""
        return self._operator is not None

    @classmethod
    def fixed(
        cls,
        jobs: OpenAIProvider,
        chat: ChatProvider | None = None,
        *,
        keys: WorkspaceKeys | None = None,
    ) -> Accounts:
        """Workspaces without a key of their own on one given provider (tests, benches, and
        deployments that build their provider themselves); `keys`, if given, still decide for
        workspaces that set one."""
        accounts = cls(keys, operator=None, base_url=jobs.settings.base_url)
        accounts._template = jobs.settings
        chat = ChatProvider(jobs.client) if chat is None else chat
        accounts._operator = Account(OPERATOR, jobs, chat)
        return accounts

    def for_workspace(self, workspace_id: str) -> Account:
        """The workspace's account; raises NoOpenAIKeyError when it has none."""
        return self.for_workspaces([workspace_id])[workspace_id]

    def for_workspaces(self, workspace_ids: Collection[str]) -> dict[str, Account]:
        """The accounts of several workspaces with one database read.

        Raises NoOpenAIKeyError for the first that has none; `usable` is the forgiving form.
        """
        found, missing = self.usable(workspace_ids)
        if missing:
            raise next(iter(missing.values()))
        return found

    def usable(
        self, workspace_ids: Collection[str]
    ) -> tuple[dict[str, Account], dict[str, NoOpenAIKeyError]]:
        """(accounts of the workspaces that have one, why each of the others has none)."""
        own = self._keys.api_keys(list(workspace_ids)) if self._keys is not None else {}
        found: dict[str, Account] = {}
        missing: dict[str, NoOpenAIKeyError] = {}
        for workspace in workspace_ids:
            if workspace in own:
                key = own[workspace]
                if key is None:
                    missing[workspace] = NoOpenAIKeyError(
                        "This workspace's OpenAI key cannot be read: the operator changed "
                        "TUNEBOT_SECRET_KEY without keeping the old one.",
                        hint="An admin sets the key again with `/finetune key`.",
                    )
                else:
                    found[workspace] = self._account_for_key(key)
            elif self._operator is not None:
                found[workspace] = self._operator
            else:
                missing[workspace] = NoOpenAIKeyError("This workspace has no OpenAI API key yet.")
        return found, missing

    def check_key(self, api_key: str) -> int:
        """How many models `api_key` can see: proof that it works before it is stored.

        Raises ProviderError with OpenAI's own words when it does not.
        """
        return len(self._account_for_key(api_key).jobs.list_models())

    def _account_for_key(self, api_key: str) -> Account:
        account_id = "key-" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]
        with self._lock:
            account = self._clients.get(account_id)
            if account is None:
                account = Account.of(account_id, self._settings_for(api_key))
                self._clients[account_id] = account
                while len(self._clients) > MAX_CLIENTS:
                    self._clients.popitem(last=False)
            else:
                self._clients.move_to_end(account_id)
            return account

    def _settings_for(self, api_key: str) -> ProviderSettings:
        """A workspace key's connection: the operator's endpoint and limits, never the
        operator's organization or project (a key belongs to its own)."""
        if self._template is None:
            return ProviderSettings(api_key=api_key, base_url=self._base_url)
        return ProviderSettings(
            api_key=api_key,
            base_url=self._template.base_url,
            timeout_s=self._template.timeout_s,
            max_retries=self._template.max_retries,
            single_upload_limit_bytes=self._template.single_upload_limit_bytes,
            upload_part_bytes=self._template.upload_part_bytes,
        )
