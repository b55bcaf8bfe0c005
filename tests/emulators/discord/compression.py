"""Gateway transport compression, as negotiated by the `compress` query parameter.

- `zlib-stream`: one zlib context for the whole connection; every payload is flushed with
  Z_SYNC_FLUSH, so it ends in `00 00 ff ff`, which is how clients (discord.py included) know a
  message is complete. What discord.py asks for when `zstandard` is not installed.
- `zstd-stream`: one zstd context; every payload is flushed as a block (each frame then decodes
  on its own in the client's streaming decompressor). Only offered when `zstandard` is
  importable, which is also exactly when discord.py asks for it.
- none: plain text frames (what other clients, and raw-socket tests, may choose).
"""

from __future__ import annotations

import importlib
import zlib
from typing import Any, Protocol


class Compressor(Protocol):
    def __call__(self, text: str) -> bytes | str: ...


class _Plain:
    def __call__(self, text: str) -> str:
        return text


class _ZlibStream:
    def __init__(self) -> None:
        self._context = zlib.compressobj()

    def __call__(self, text: str) -> bytes:
        return self._context.compress(text.encode()) + self._context.flush(zlib.Z_SYNC_FLUSH)


class _ZstdStream:
    def __init__(self, module: Any) -> None:
        self._module = module
        self._context = module.ZstdCompressor().compressobj()

    def __call__(self, text: str) -> bytes:
        flush = self._module.COMPRESSOBJ_FLUSH_BLOCK
        return bytes(self._context.compress(text.encode()) + self._context.flush(flush))


def _zstandard() -> Any | None:
    try:
        return importlib.import_module("zstandard")
    except ImportError:
        return None


def supported() -> set[str]:
    kinds = {"zlib-stream"}
    if _zstandard() is not None:
        kinds.add("zstd-stream")
    return kinds


def compressor(kind: str | None) -> Compressor:
    """The compressor for a `compress` query value; ValueError for one we do not offer."""
    if not kind:
        return _Plain()
    if kind == "zlib-stream":
        return _ZlibStream()
    module = _zstandard() if kind == "zstd-stream" else None
    if module is None:
        raise ValueError(f"unsupported compression {kind!r}")
    return _ZstdStream(module)
