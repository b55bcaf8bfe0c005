"""Reading loss curves from OpenAI's results file and from metrics events."""

from __future__ import annotations

import csv

from finetuning.follow.metrics import (
    LossPoint,
    final_losses,
    parse_results_csv,
    points_from_events,
)

CLASSIC = (
    b"step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
    b"1,2.5,0.40,2.7,0.38\n"
    b"2,2.1,0.45,,\n"
    b"3,1.9,0.50,2.2,0.47\n"
)


def test_classic_results_file_reads_every_column() -> None:
    assert parse_results_csv(CLASSIC) == [
        LossPoint(step=1, train_loss=2.5, valid_loss=2.7, train_accuracy=0.40, valid_accuracy=0.38),
        LossPoint(step=2, train_loss=2.1, valid_loss=None, train_accuracy=0.45),
        LossPoint(step=3, train_loss=1.9, valid_loss=2.2, train_accuracy=0.50, valid_accuracy=0.47),
    ]


def test_columns_in_any_order_with_unknown_ones_ignored() -> None:
    raw = (
        b"valid_mean_token_accuracy,extra,valid_loss,step,train_accuracy,train_loss\n"
        b"0.47,zzz,2.2,3,0.50,1.9\n"
    )
    assert parse_results_csv(raw) == [
        LossPoint(step=3, train_loss=1.9, valid_loss=2.2, train_accuracy=0.50, valid_accuracy=0.47)
    ]


def test_bom_crlf_and_trailing_blank_lines_are_tolerated() -> None:
    raw = b"\xef\xbb\xbf" + CLASSIC.replace(b"\n", b"\r\n") + b"\r\n\r\n,,,,\r\n"
    assert parse_results_csv(raw) == parse_results_csv(CLASSIC)
    assert [p.step for p in parse_results_csv(raw)] == [1, 2, 3]


def test_malformed_rows_are_skipped_not_raised() -> None:
    raw = (
        b"step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
        b"1,2.5,0.40,2.7,0.38\n"
        b"two,2.1,0.45,,\n"  # step not a number
        b"3,1.9\n"  # too few cells
        b"4,1.8,0.5,2.0,0.5,9\n"  # too many cells
        b"5,oops,0.5,2.0,0.5\n"  # a known cell that is not a number
        b"6.5,1.7,0.5,,\n"  # fractional step
        b"7,1.6,0.55,,\n"
        b'"8,1.5\n'  # unterminated quote swallows the rest
    )
    assert [p.step for p in parse_results_csv(raw)] == [1, 7]


def test_non_finite_value_is_missing_but_keeps_the_row() -> None:
    raw = b"step,train_loss,valid_loss\n1,nan,2.0\n2,inf,\n"
    assert parse_results_csv(raw) == [
        LossPoint(step=1, train_loss=None, valid_loss=2.0),
        LossPoint(step=2, train_loss=None, valid_loss=None),
    ]


def test_newer_file_with_full_validation_columns() -> None:
    raw = (
        b"step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy,"
        b"full_valid_loss,full_valid_mean_token_accuracy\n"
        b"1,2.5,0.4,2.7,0.38,,\n"
        b"2,2.0,0.5,2.1,0.45,2.05,0.46\n"
    )
    points = parse_results_csv(raw)
    assert points[0].full_valid_loss is None
    assert points[1].full_valid_loss == 2.05
    assert final_losses(points) == (2.0, 2.05)


def test_points_are_sorted_and_a_repeated_step_takes_the_later_values() -> None:
    raw = b"step,train_loss,valid_loss\n3,1.0,\n1,3.0,3.5\n3,0.9,1.1\n2,2.0,\n"
    assert parse_results_csv(raw) == [
        LossPoint(step=1, train_loss=3.0, valid_loss=3.5),
        LossPoint(step=2, train_loss=2.0, valid_loss=None),
        LossPoint(step=3, train_loss=0.9, valid_loss=1.1),
    ]


def test_empty_or_headerless_files_give_no_points() -> None:
    assert parse_results_csv(b"") == []
    assert parse_results_csv(b"\xef\xbb\xbf") == []
    assert parse_results_csv(b"train_loss,valid_loss\n1.0,2.0\n") == []
    assert parse_results_csv(b"\xff\xfe\x00garbage") == []


def _metrics(step: object, **data: object) -> dict[str, object]:
    return {"object": "fine_tuning.job.event", "type": "metrics", "data": {"step": step, **data}}


def test_events_in_any_order_collapse_by_step() -> None:
    events = [
        {"step": 3, "train_loss": 1.5, "total_steps": 3, "full_valid_loss": 1.7},
        {"step": 1, "train_loss": 2.5, "valid_loss": 2.8, "train_mean_token_accuracy": 0.4},
        {"step": 2, "train_loss": 2.0, "valid_mean_token_accuracy": 0.5},
        {"step": 1, "train_loss": 2.5, "valid_loss": 2.8, "train_mean_token_accuracy": 0.4},
    ]
    assert points_from_events(events) == [
        LossPoint(step=1, train_loss=2.5, valid_loss=2.8, train_accuracy=0.4),
        LossPoint(step=2, train_loss=2.0, valid_loss=None, valid_accuracy=0.5),
        LossPoint(step=3, train_loss=1.5, valid_loss=None, full_valid_loss=1.7),
    ]


def test_whole_events_are_accepted_and_only_metrics_count() -> None:
    events: list[dict[str, object]] = [
        _metrics(2, train_loss=1.0),
        {"type": "message", "data": {"step": 5, "train_loss": 9.9}},
        _metrics(1, train_loss=2.0),
    ]
    assert [(p.step, p.train_loss) for p in points_from_events(events)] == [(1, 2.0), (2, 1.0)]


def test_non_numeric_event_values_are_dropped_one_by_one() -> None:
    events: list[dict[str, object]] = [
        {"step": 1, "train_loss": "2.5", "valid_loss": 2.0},
        {"step": 2, "train_loss": True, "valid_loss": None, "train_mean_token_accuracy": [1]},
        {"step": 3, "train_loss": float("nan"), "valid_loss": 1.5},
        {"step": "4", "train_loss": 1.0},  # no integer step: dropped whole
        {"step": 4.5, "train_loss": 1.0},
        {"step": None, "train_loss": 1.0},
        {"train_loss": 1.0},
        {"step": 5.0, "train_loss": 0.5},
    ]
    assert points_from_events(events) == [
        LossPoint(step=1, train_loss=None, valid_loss=2.0),
        LossPoint(step=2, train_loss=None, valid_loss=None),
        LossPoint(step=3, train_loss=None, valid_loss=1.5),
        LossPoint(step=5, train_loss=0.5, valid_loss=None),
    ]


def test_a_later_duplicate_event_fills_in_without_erasing() -> None:
    events = [{"step": 1, "train_loss": 2.0, "valid_loss": 2.5}, {"step": 1, "train_loss": 1.9}]
    assert points_from_events(events) == [LossPoint(step=1, train_loss=1.9, valid_loss=2.5)]


def test_final_losses_take_the_last_reported_values() -> None:
    points = [
        LossPoint(step=3, train_loss=None, valid_loss=None),
        LossPoint(step=1, train_loss=2.0, valid_loss=2.4),
        LossPoint(step=2, train_loss=1.5, valid_loss=None),
    ]
    assert final_losses(points) == (1.5, 2.4)


def test_final_losses_prefer_the_full_validation_loss() -> None:
    points = [
        LossPoint(step=1, train_loss=2.0, valid_loss=2.4, full_valid_loss=2.3),
        LossPoint(step=2, train_loss=1.5, valid_loss=1.9),
    ]
    assert final_losses(points) == (1.5, 2.3)


def test_final_losses_of_nothing() -> None:
    assert final_losses([]) == (None, None)
    assert final_losses([LossPoint(step=1, train_loss=None, valid_loss=None)]) == (None, None)


def test_a_row_the_csv_module_refuses_is_skipped() -> None:
    # The limit is process-wide and the dataset readers raise it; pin it for this test.
    previous = csv.field_size_limit(131_072)
    try:
        raw = b"step,train_loss\n1,2.0\n2," + b"9" * 200_000 + b"\n3,1.0\n"
        assert [p.step for p in parse_results_csv(raw)] == [1, 3]
    finally:
        csv.field_size_limit(previous)
