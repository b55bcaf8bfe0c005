"""Standard Webhooks signing, byte for byte as OpenAI signs its webhook deliveries.

The signature is ``v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">``, keyed
with the base64-decoded part of a ``whsec_`` secret (any other secret is used as UTF-8 bytes,
which is what the SDK's `webhooks.unwrap` does too). Kept apart from delivery so tests can forge
and replay deliveries with the very same code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_webhook_id() -> str:
    return "wh_" + secrets.token_hex(16)


def signature(body: bytes, *, secret: str, webhook_id: str, timestamp: int) -> str:
    key = (
        base64.b64decode(secret.removeprefix(SECRET_PREFIX))
        if secret.startswith(SECRET_PREFIX)
        else secret.encode()
    )
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    body: bytes, *, secret: str, webhook_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """The three `webhook-*` headers for `body`; a fresh id and the current time by default."""
    webhook_id = webhook_id or new_webhook_id()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(
            body, secret=secret, webhook_id=webhook_id, timestamp=timestamp
        ),
    }
