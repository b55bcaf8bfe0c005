"""Money as people read it, the same in every chat."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_CENT = Decimal("0.01")


def format_usd(value: Decimal | float) -> str:
    """Dollars to the cent with thousands separators; a cost that rounds to nothing is `<$0.01`.

    "$0.00" for a job that will cost something would read as free.
    """
    amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        return "n/a"
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    if amount > 0 and cents == 0:
        return "<$0.01"
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"
