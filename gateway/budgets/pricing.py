"""Prices in integer micro-USD, so that sums and reports are exact to the cent."""

from decimal import ROUND_HALF_UP, Decimal

MICROS_PER_USD = 1_000_000


def usd_to_micros(usd: float) -> int:
    return int((Decimal(str(usd)) * MICROS_PER_USD).to_integral_value(ROUND_HALF_UP))


def micros_to_usd(micros: int) -> float:
    return micros / MICROS_PER_USD


def cost_micros(tokens: int, price_micros_per_1m: int) -> int:
    """`tokens` at a price per million tokens, rounded to the nearest micro-USD."""
    return (tokens * price_micros_per_1m + MICROS_PER_USD // 2) // MICROS_PER_USD


def usd_text(micros: int) -> str:
    """Dollars and cents, or every digit down to the micro-dollar when there are more."""
    usd = micros / MICROS_PER_USD
    return f"${usd:,.2f}" if micros % 10_000 == 0 else f"${usd:,.6f}".rstrip("0")
