"""Fine-tuning jobs: start them exactly once, find them by our id or the provider's, cancel them."""

from finetuning.jobs.records import JobRecord
from finetuning.jobs.service import JobNotFoundError, JobService, StartOutcome, StartRefusedError
from finetuning.jobs.start import StartRequest

__all__ = [
    "JobNotFoundError",
    "JobRecord",
    "JobService",
    "StartOutcome",
    "StartRefusedError",
    "StartRequest",
]
