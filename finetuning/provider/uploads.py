"""Getting a training file to OpenAI: one request when small, the Uploads API when large.

`files.create` accepts a file up to 512 MiB in one multipart request, which the SDK streams
from the open file. Above that the Uploads API takes parts of at most 64 MiB; they are read
from disk one at a time, so memory stays bounded by one part whatever the file's size. The
whole file's MD5 goes with the completion so the service can check what it assembled.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import openai

from .errors import HINT_SERVICE, ProviderError

JSONL_MIME_TYPE = "text/jsonl"


def upload_training_file(
    client: openai.OpenAI,
    path: Path,
    *,
    single_upload_limit_bytes: int,
    part_bytes: int,
    filename: str | None = None,
) -> str:
    """Upload `path` for fine-tuning and return the new file's id (SDK errors propagate)."""
    name = filename or path.name
    size = path.stat().st_size
    if size <= single_upload_limit_bytes:
        with path.open("rb") as stream:
            return client.files.create(file=(name, stream), purpose="fine-tune").id
    return _upload_in_parts(client, path, name, size, part_bytes)


def _upload_in_parts(
    client: openai.OpenAI, path: Path, name: str, size: int, part_bytes: int
) -> str:
    upload = client.uploads.create(
        bytes=size, filename=name, mime_type=JSONL_MIME_TYPE, purpose="fine-tune"
    )
    try:
        part_ids: list[str] = []
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as stream:
            while chunk := stream.read(part_bytes):
                digest.update(chunk)
                part_ids.append(client.uploads.parts.create(upload_id=upload.id, data=chunk).id)
        completed = client.uploads.complete(
            upload_id=upload.id, part_ids=part_ids, md5=digest.hexdigest()
        )
    except BaseException:
        # An abandoned Upload would linger for an hour holding its parts; say we are done.
        with contextlib.suppress(openai.OpenAIError):
            client.uploads.cancel(upload.id)
        raise
    if completed.file is None:
        raise ProviderError(
            f"Upload {upload.id} ended {completed.status} without a file.",
            code="upload_incomplete",
            hint=HINT_SERVICE,
        )
    return completed.file.id
