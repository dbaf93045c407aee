"""Numbers as people say them: digits, words ("forty five"), with or without a unit."""

from __future__ import annotations

import random

_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words(value: int) -> str:
    """0..100 in English words ("forty five", "a hundred")."""
    if value == 100:
        return "a hundred"
    if value < 20:
        return _UNITS[value]
    tens, unit = divmod(value, 10)
    return _TENS[tens] if unit == 0 else f"{_TENS[tens]} {_UNITS[unit]}"


def say_number(value: int, rng: random.Random) -> str:
    """`value` as digits or as words (speech recognisers write both)."""
    if 0 <= value <= 100 and rng.random() < 0.45:
        words = number_words(value)
        return words.replace(" ", "-") if " " in words and rng.random() < 0.3 else words
    return str(value)
