"""Results files arrive base64-encoded or plain; callers always get the CSV."""

from __future__ import annotations

import base64

from finetuning.provider import decode_result_file

CSV = b"step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,1.5,0.4,,\n"


def test_base64_is_decoded_even_when_wrapped_over_lines() -> None:
    encoded = base64.encodebytes(CSV * 20)  # 76-column lines, as some encoders wrap
    assert b"\n" in encoded.strip()
    assert decode_result_file(encoded) == CSV * 20


def test_plain_csv_passes_through_unchanged() -> None:
    assert decode_result_file(CSV) == CSV


def test_base64_of_binary_is_left_alone() -> None:
    raw = base64.b64encode(b"\xff\xfe\x00\x80")
    assert decode_result_file(raw) == raw


def test_empty_content_stays_empty() -> None:
    assert decode_result_file(b"") == b""
    assert decode_result_file(b"\n") == b"\n"
