"""Sealing secrets at rest with the operator's key (Fernet: AES-128-CBC plus HMAC-SHA256).

`TUNEBOT_SECRET_KEY` may name several keys, comma-separated: the first seals, every one opens.
That is how the key is rotated without a moment in which stored secrets cannot be read: put the
new key first, keep the old one after it, run `tunebot secrets rotate`, then drop the old one.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(ValueError):
    """A key that is no Fernet key, or a sealed value none of the keys opens."""


def new_secret_key() -> str:
    """A fresh key for `TUNEBOT_SECRET_KEY` (32 random bytes, URL-safe base64)."""
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Seals and opens short secrets; the plaintext never leaves this object except on `open`."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretBoxError("TUNEBOT_SECRET_KEY is empty")
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError) as exc:
                raise SecretBoxError(
                    f"key {position} of TUNEBOT_SECRET_KEY is not a Fernet key (32 bytes, "
                    "URL-safe base64); make one with `tunebot secrets new-key`"
                ) from exc
        self._fernet = MultiFernet(fernets)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretBoxError(
                "a stored secret cannot be opened with TUNEBOT_SECRET_KEY: was the key changed "
                "without keeping the old one after the new?"
            ) from exc

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the first key (for rotation); raises SecretBoxError."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretBoxError(
                "a stored secret cannot be opened with TUNEBOT_SECRET_KEY"
            ) from exc
