"""Type and range checks for option and config values. Each failure is a ValueError naming
the option, which the entry points turn into one ``error:`` line and exit status 2."""

from __future__ import annotations

from typing import Any


def _span(low: float | None, high: float | None, low_open: bool = False) -> str:
    if high is None:
        return f"> {low}" if low_open else f">= {low}"
    return f"{low}..{high}"


def whole(
    name: str, value: Any, low: int | None = None, high: int | None = None, optional: bool = False
) -> int | None:
    """``value`` as a whole number in ``low..high`` (either end open when None), or None
    when ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {_span(low, high)}, got {value}")
    return value


def number(
    name: str, value: Any, low: float | None = None, high: float | None = None, low_open=False
) -> float:
    """``value`` as a number in ``low..high`` (above ``low`` only when ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    below = low is not None and (value <= low if low_open else value < low)
    if below or (high is not None and value > high) or value != value:
        raise ValueError(f"{name} must be {_span(low, high, low_open)}, got {value}")
    return float(value)
