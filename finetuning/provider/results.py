"""A job's results file, as CSV bytes whichever way the service chose to send it.

The service stores the per-step metrics CSV base64-encoded, yet a proxy or a future API
version may hand it over plain; callers want the CSV either way and must not have to guess.
"""

from __future__ import annotations

import base64
import binascii


def decode_result_file(raw: bytes) -> bytes:
    """The CSV inside `raw`: decoded when it is base64 of UTF-8 text, else `raw` unchanged.

    Plain CSV cannot pass for base64 in practice: its commas are outside the base64 alphabet.
    """
    compact = b"".join(raw.split())
    if not compact:
        return raw
    try:
        decoded = base64.b64decode(compact, validate=True)
        decoded.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return raw
    return decoded
