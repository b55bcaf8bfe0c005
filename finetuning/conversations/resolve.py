"""From what a person typed after `use`/`ask` to a model id OpenAI will answer to.

People name models three ways: a fine-tuned id copied from somewhere (`ft:…`), a base model
(`gpt-4o-mini`), or one of our jobs (`job-3`, `3`, `ftjob-…`), which is the easy one to remember.
The job lookup is JobService's own, so "which references name a job" has one answer.
"""

from __future__ import annotations

from finetuning.conversations.errors import ModelNotFoundError, ModelNotReadyError
from finetuning.credentials import Accounts
from finetuning.datasets.models import ModelCatalog, UnknownModelError
from finetuning.jobs import JobNotFoundError, JobService
from storage.models import JobStatus

FINE_TUNED_PREFIX = "ft:"


class ModelResolver:
    """Resolves model references within one workspace (jobs of other workspaces are unknown)."""

    def __init__(self, jobs: JobService, catalog: ModelCatalog, accounts: Accounts) -> None:
        self._jobs = jobs
        self._catalog = catalog
        self._accounts = accounts

    def resolve_model(self, workspace_id: str, ref: str) -> str:
        """The model id `ref` stands for.

        Raises ModelNotReadyError for a job without a model (naming its status), and
        ModelNotFoundError for a fine-tuned model OpenAI does not know (any more) or a reference
        that is neither a model nor a job. Asks OpenAI only about fine-tuned ids.
        """
        wanted = ref.strip()
        if not wanted:
            raise ModelNotFoundError(ref, "name a model: a fine-tuned id, a base model or a job")
        if wanted.startswith(FINE_TUNED_PREFIX):
            return self._existing(workspace_id, wanted, wanted)
        try:
            return self._catalog.resolve(wanted).id
        except UnknownModelError:
            pass
        try:
            job = self._jobs.get(workspace_id, wanted)
        except JobNotFoundError as exc:
            raise ModelNotFoundError(
                wanted,
                f"`{wanted}` is neither a model nor a job here ({exc}); base models: "
                f"{', '.join(self._catalog.names())}",
            ) from exc
        if job.status != JobStatus.SUCCEEDED.value or job.fine_tuned_model is None:
            raise ModelNotReadyError(wanted, job.short_id, job.status)
        return self._existing(workspace_id, wanted, job.fine_tuned_model)

    def _existing(self, workspace_id: str, ref: str, model: str) -> str:
        if not self._accounts.for_workspace(workspace_id).chat.model_exists(model):
            raise ModelNotFoundError(
                ref, f"`{model}` does not exist or this OpenAI account has no access to it"
            )
        return model
