from decimal import Decimal

import pytest

from handlers.common.money import format_usd


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "$0.00"),
        (0.0, "$0.00"),
        (0.0001, "<$0.01"),
        (0.0049, "<$0.01"),
        (0.005, "$0.01"),
        (0.42, "$0.42"),
        (1234.5, "$1,234.50"),
        (Decimal("1234567.891"), "$1,234,567.89"),
        (Decimal("0.0038"), "<$0.01"),
        (-2.5, "-$2.50"),
        (float("nan"), "n/a"),
    ],
)
def test_format_usd(value, text):
    assert format_usd(value) == text
