"""Offline tiktoken encodings built from the vocabularies shipped inside this package.

`tiktoken.get_encoding` downloads its vocabulary on first use, which fails on closed networks and
would make a validation depend on a third-party host. We ship OpenAI's public files, verify their
sha256 (the same hashes tiktoken pins) and build the `Encoding` ourselves. The regex and special
tokens mirror `tiktoken_ext.openai_public`; a test keeps them in step with the installed tiktoken.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import threading
from dataclasses import dataclass
from importlib import resources

import tiktoken

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"


class VocabularyError(RuntimeError):
    """The shipped vocabulary is missing or corrupt: counts would be wrong, so refuse to count."""


@dataclass(frozen=True)
class EncodingSpec:
    """What tiktoken needs besides the ranks, and the hash the ranks must have."""

    name: str
    file_name: str
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]


_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

SPECS: dict[str, EncodingSpec] = {
    "o200k_base": EncodingSpec(
        name="o200k_base",
        file_name="o200k_base.tiktoken.gz",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str=_O200K_PAT,
        special_tokens={ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
    ),
    "cl100k_base": EncodingSpec(
        name="cl100k_base",
        file_name="cl100k_base.tiktoken.gz",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pat_str=_CL100K_PAT,
        special_tokens={
            ENDOFTEXT: 100257,
            FIM_PREFIX: 100258,
            FIM_MIDDLE: 100259,
            FIM_SUFFIX: 100260,
            ENDOFPROMPT: 100276,
        },
    ),
}

_lock = threading.Lock()
_loaded: dict[str, tiktoken.Encoding] = {}


def load_ranks(spec: EncodingSpec) -> dict[bytes, int]:
    """Read and verify one shipped vocabulary (the format tiktoken's loader reads)."""
    resource = resources.files(__package__).joinpath("vocab").joinpath(spec.file_name)
    try:
        contents = gzip.decompress(resource.read_bytes())
    except (OSError, EOFError) as exc:
        raise VocabularyError(f"cannot read the {spec.name} vocabulary: {exc}") from exc
    digest = hashlib.sha256(contents).hexdigest()
    if digest != spec.sha256:
        raise VocabularyError(
            f"the {spec.name} vocabulary is corrupt: sha256 {digest}, expected {spec.sha256}"
        )
    # binascii directly: the base64 module's per-call checks doubled the load time.
    decode = binascii.a2b_base64
    ranks: dict[bytes, int] = {}
    for line in contents.splitlines():
        if line:
            token, rank = line.split()
            ranks[decode(token)] = int(rank)
    return ranks


def get_encoding(name: str) -> tiktoken.Encoding:
    """The named encoding, built once per process (building o200k takes a noticeable moment)."""
    with _lock:
        encoding = _loaded.get(name)
        if encoding is None:
            spec = SPECS.get(name)
            if spec is None:
                known = ", ".join(sorted(SPECS))
                raise VocabularyError(f"unknown encoding {name!r}; shipped: {known}")
            encoding = tiktoken.Encoding(
                spec.name,
                pat_str=spec.pat_str,
                mergeable_ranks=load_ranks(spec),
                special_tokens=spec.special_tokens,
            )
            _loaded[name] = encoding
        return encoding
