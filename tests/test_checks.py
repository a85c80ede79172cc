"""Value checks: whole numbers and numbers in range, each error naming the option."""

from __future__ import annotations

import pytest

from sr_lab.checks import number, whole
from sr_lab.data.degradation import make_degradation


def test_whole_and_number_accept_and_name_what_they_refuse() -> None:
    assert whole("tile", 64, 1) == 64 and whole("crop", None, 1, optional=True) is None
    assert number("lr", 1, 0, low_open=True) == 1.0
    for value, message in [
        ("abc", "tile must be a whole number, got 'abc'"),
        (True, "whole"),
        (2.0, "whole number, got 2.0"),
        (0, "tile must be >= 1, got 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            whole("tile", value, 1)
    with pytest.raises(ValueError, match="quality must be 1..100, got 101"):
        whole("quality", 101, 1, 100)
    for value, message in [
        (0, "lr must be > 0, got 0"),
        ("x", "lr must be a number"),
        (float("nan"), "lr must be > 0, got nan"),
    ]:
        with pytest.raises(ValueError, match=message):
            number("lr", value, 0, low_open=True)


@pytest.mark.parametrize(
    ("jpeg", "message"),
    [
        ([{"first": [0, 0]}], "first must lie within 1..100, got 0..0"),
        ([{"first": [101, 150]}], "first must lie within 1..100, got 101..150"),
        ([{"first": [80, 70]}], "first must lie within 1..100, got 80..70"),
        ([{"first": [20, 30], "then": [[10, 25]]}], "leave a quality >= 1"),
        ([{"p": 1.5, "first": [70, 90]}], "p must be 0..1, got 1.5"),
    ],
)
def test_jpeg_ranges_outside_1_to_100_are_errors(jpeg: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_degradation(jpeg=jpeg)
