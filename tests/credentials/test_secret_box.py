"""Sealing at rest: round trips, rotation, and the errors an operator sees."""

from __future__ import annotations

import pytest

from finetuning.credentials import SecretBox, SecretBoxError, new_secret_key

KEY = "sk-proj-" + "a" * 40


def test_a_sealed_secret_opens_and_does_not_contain_the_secret() -> None:
    box = SecretBox([new_secret_key()])

    sealed = box.seal(KEY)

    assert KEY not in sealed and "aaaaaaaa" not in sealed
    assert box.open(sealed) == KEY


def test_sealing_twice_gives_different_text() -> None:
    """Fernet's random IV: equal keys of two workspaces cannot be spotted in the table."""
    box = SecretBox([new_secret_key()])

    assert box.seal(KEY) != box.seal(KEY)


def test_rotation_opens_with_the_old_key_and_reseals_with_the_new() -> None:
    old, new = new_secret_key(), new_secret_key()
    sealed_before = SecretBox([old]).seal(KEY)
    both = SecretBox([new, old])

    resealed = both.reseal(sealed_before)

    assert both.open(sealed_before) == KEY
    assert SecretBox([new]).open(resealed) == KEY
    with pytest.raises(SecretBoxError, match="cannot be opened"):
        SecretBox([new]).open(sealed_before)


def test_a_changed_key_cannot_open_what_the_old_one_sealed() -> None:
    sealed = SecretBox([new_secret_key()]).seal(KEY)

    with pytest.raises(SecretBoxError, match="keeping the old one"):
        SecretBox([new_secret_key()]).open(sealed)


@pytest.mark.parametrize("sealed", ["", "not a token", "gAAAAA" + "x" * 50, "é"])
def test_garbage_is_refused_with_a_clear_error(sealed: str) -> None:
    with pytest.raises(SecretBoxError):
        SecretBox([new_secret_key()]).open(sealed)


@pytest.mark.parametrize("keys", [[], ["too-short"], [new_secret_key(), "x" * 44]])
def test_a_bad_operator_key_names_itself(keys: list[str]) -> None:
    with pytest.raises(SecretBoxError, match="TUNEBOT_SECRET_KEY"):
        SecretBox(keys)
