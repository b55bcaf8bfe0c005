"""Which shared files are datasets, and where a file's thread is."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

DATASET_EXTENSIONS = frozenset({".jsonl", ".json", ".csv", ".tsv", ".xlsx"})


def is_dataset_name(name: str) -> bool:
    return PurePath(name).suffix.lower() in DATASET_EXTENSIONS


def is_partial(file: dict[str, Any]) -> bool:
    """Slack sometimes sends only `{"id": …}` (or no download URL): ask files.info then."""
    return not file.get("url_private_download") or not file.get("name") or "size" not in file
