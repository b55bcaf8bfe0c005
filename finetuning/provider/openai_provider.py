"""`OpenAIProvider`: every call tunebot makes to OpenAI's fine-tuning surface, in one class.

Each method returns plain snapshots and raises only `ProviderError`, so the jobs layer and the
chat front ends never see SDK types or SDK exceptions. Retrying is left entirely to the SDK
client (see `finetuning.provider.client`): a method here makes one logical call and reports
its final outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import openai
from openai.types.fine_tuning import FineTuningJob, job_create_params
from openai.types.fine_tuning.dpo_method_param import DpoMethodParam
from openai.types.fine_tuning.supervised_method_param import SupervisedMethodParam

from .client import ProviderSettings
from .convert import checkpoint_snapshot, event_snapshot, job_snapshot, model_snapshot
from .errors import translated
from .results import decode_result_file
from .snapshots import CheckpointSnapshot, JobEventSnapshot, JobSnapshot, ModelSnapshot
from .uploads import upload_training_file

MethodType = Literal["supervised", "dpo"]


class OpenAIProvider:
    """The fine-tuning API as tunebot uses it; build the client with `make_client`."""

    def __init__(self, client: openai.OpenAI, settings: ProviderSettings) -> None:
        self._client = client
        self._settings = settings

    @property
    def settings(self) -> ProviderSettings:
        return self._settings

    @property
    def client(self) -> openai.OpenAI:
        """The SDK client, for a `ChatProvider` that shares its connections and retries."""
        return self._client

    # -- files -------------------------------------------------------------------------

    def upload_training_file(self, path: Path, *, filename: str | None = None) -> str:
        """Upload a JSONL dataset and return its file id (Uploads API above the single limit)."""
        with translated():
            return upload_training_file(
                self._client,
                path,
                single_upload_limit_bytes=self._settings.single_upload_limit_bytes,
                part_bytes=self._settings.upload_part_bytes,
                filename=filename,
            )

    def result_file_content(self, file_id: str) -> bytes:
        """A job's results CSV, decoded from base64 when the service sent it that way."""
        with translated():
            raw = self._client.files.content(file_id).content
        return decode_result_file(raw)

    # -- jobs --------------------------------------------------------------------------

    def create_job(
        self,
        *,
        training_file: str,
        model: str,
        validation_file: str | None = None,
        epochs: int | None = None,
        suffix: str | None = None,
        seed: int | None = None,
        method: MethodType = "supervised",
        metadata: dict[str, str] | None = None,
    ) -> JobSnapshot:
        with translated():
            job = self._client.fine_tuning.jobs.create(
                model=model,
                training_file=training_file,
                validation_file=validation_file,
                suffix=suffix,
                seed=seed,
                metadata=metadata,
                method=_method(method, epochs),
            )
        return job_snapshot(job)

    def retrieve_job(self, job_id: str) -> JobSnapshot:
        with translated():
            return job_snapshot(self._client.fine_tuning.jobs.retrieve(job_id))

    def list_jobs(
        self, *, after: str | None = None, limit: int = 100
    ) -> tuple[list[JobSnapshot], bool]:
        """One page of jobs, newest first, and whether more follow (pass the last id as `after`)."""
        jobs = self._client.fine_tuning.jobs
        with translated():
            page = jobs.list(limit=limit) if after is None else jobs.list(after=after, limit=limit)
        return [job_snapshot(job) for job in page.data], bool(page.has_more)

    def iter_jobs(self, *, page_size: int = 100) -> Iterator[JobSnapshot]:
        """Every job of the organization, newest first, fetching pages as needed."""
        after: str | None = None
        while True:
            jobs, has_more = self.list_jobs(after=after, limit=page_size)
            yield from jobs
            if not has_more or not jobs:
                return
            after = jobs[-1].id

    def cancel_job(self, job_id: str) -> JobSnapshot:
        with translated():
            return job_snapshot(self._client.fine_tuning.jobs.cancel(job_id))

    def pause_job(self, job_id: str) -> JobSnapshot:
        return self._job_action(job_id, "pause")

    def resume_job(self, job_id: str) -> JobSnapshot:
        return self._job_action(job_id, "resume")

    def list_events(
        self, job_id: str, *, limit: int = 20, after: str | None = None
    ) -> list[JobEventSnapshot]:
        """One page of a job's events, newest first as the API orders them."""
        jobs = self._client.fine_tuning.jobs
        with translated():
            if after is None:
                page = jobs.list_events(job_id, limit=limit)
            else:
                page = jobs.list_events(job_id, limit=limit, after=after)
        return [event_snapshot(event) for event in page.data]

    def list_checkpoints(self, job_id: str) -> list[CheckpointSnapshot]:
        """All checkpoints the service kept for a job (it keeps the last few), newest first."""
        with translated():
            return [
                checkpoint_snapshot(checkpoint)
                for checkpoint in self._client.fine_tuning.jobs.checkpoints.list(job_id)
            ]

    # -- models ------------------------------------------------------------------------

    def list_models(self) -> list[ModelSnapshot]:
        """Every model the key may use (base and fine-tuned)."""
        with translated():
            return [model_snapshot(model) for model in self._client.models.list()]

    def list_fine_tuned_models(self) -> list[ModelSnapshot]:
        return [model for model in self.list_models() if model.id.startswith("ft:")]

    def delete_model(self, model_id: str) -> bool:
        with translated():
            return bool(self._client.models.delete(model_id).deleted)

    # -- helpers -----------------------------------------------------------------------

    def _job_action(self, job_id: str, action: Literal["pause", "resume"]) -> JobSnapshot:
        """Pause or resume, through the SDK method when this SDK version has it."""
        sdk_method = getattr(self._client.fine_tuning.jobs, action, None)
        with translated():
            if callable(sdk_method):
                job = sdk_method(job_id)
            else:
                job = self._client.post(
                    f"/fine_tuning/jobs/{quote(job_id, safe='')}/{action}",
                    cast_to=FineTuningJob,
                )
        return job_snapshot(job)


def _method(kind: MethodType, epochs: int | None) -> job_create_params.Method:
    """The `method` body: the current form, which also carries DPO's settings."""
    if kind == "dpo":
        dpo: DpoMethodParam = {}
        if epochs is not None:
            dpo["hyperparameters"] = {"n_epochs": epochs}
        return {"type": "dpo", "dpo": dpo}
    supervised: SupervisedMethodParam = {}
    if epochs is not None:
        supervised["hyperparameters"] = {"n_epochs": epochs}
    return {"type": "supervised", "supervised": supervised}
