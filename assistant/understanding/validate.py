"""The one check of an intent call against its schema and the live names.

Every call that did not come from a template match passes here before it
runs: the LLM's output (already constrained by its grammar, checked again),
the few-shot examples, any other fallback.  An intent with no handler, a
name no device has, a value outside its range or closed set, a missing
required slot, or a many-target intent naming no target is refused with
one line saying why, so nothing wrong executes.  The grammar is generated
from the same rules (`slot_choices`, the limits below).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from assistant.devices.vocabulary import COLORS, DEVICE_CLASSES, DOMAINS
from assistant.understanding.calls import IntentCall, IntentSchema, SlotSpec, Vocabulary

__all__ = [
    "MAX_DURATION_SECONDS",
    "MAX_TEXT_CHARS",
    "TARGET_KINDS",
    "InvalidCall",
    "slot_choices",
    "validate_call",
]

# Free text (timer names, list items) is short: a model that rambles is wrong.
MAX_TEXT_CHARS = 40
# A timer of a day at most; HA's timer sentences cover hours/minutes/seconds.
MAX_DURATION_SECONDS = 86_400
TARGET_KINDS = ("name", "area", "floor", "domain", "device_class")
_NAMED = ("name", "area", "floor")


class InvalidCall(ValueError):
    """The call does not fit its schema or the home; str() says why, in one line."""


def slot_choices(spec: SlotSpec, vocabulary: Vocabulary) -> tuple[str, ...] | None:
    """The closed set of strings a slot admits, or None when it is not a closed set."""
    if spec.choices:
        return spec.choices
    return {
        "name": vocabulary.names,
        "area": vocabulary.areas,
        "floor": vocabulary.floors,
        "domain": DOMAINS,
        "device_class": DEVICE_CLASSES,
        "color": COLORS,
        "enum": (),
    }.get(spec.kind)


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _number(spec: SlotSpec, value: Any) -> int | float:
    # Strings are refused: the grammar only produces JSON numbers, and "50"
    # from anywhere else is a caller that skipped its own parsing.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidCall(f"slot {spec.name!r} needs a number, got {value!r}")
    low, high = spec.minimum, spec.maximum
    if spec.kind == "duration":
        low = 1 if low is None else max(low, 1)
        high = MAX_DURATION_SECONDS if high is None else min(high, MAX_DURATION_SECONDS)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{_show(low)}..{_show(high)}"
        raise InvalidCall(f"slot {spec.name!r} value {_show(value)} is outside {bounds}")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _show(number: float | None) -> str:
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else str(number)


def _text(spec: SlotSpec, value: str) -> str:
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidCall(f"slot {spec.name!r} text is longer than {MAX_TEXT_CHARS}")
    if not value.isprintable():
        raise InvalidCall(f"slot {spec.name!r} text has control characters")
    return value


def check_value(spec: SlotSpec, value: Any, vocabulary: Vocabulary) -> Any:
    """One slot value, canonical (the registry's spelling, ints for whole numbers)."""
    if spec.kind in ("number", "duration"):
        return _number(spec, value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidCall(f"slot {spec.name!r} needs a non-empty string, got {value!r}")
    if spec.kind == "text":
        return _text(spec, value)
    choices = slot_choices(spec, vocabulary) or ()
    if value in choices:
        return value
    folded = {_fold(c): c for c in choices}
    if _fold(value) in folded:
        return folded[_fold(value)]
    what = "no such" if spec.kind in _NAMED else "unknown"
    raise InvalidCall(f"{what} {spec.kind} {value!r} for slot {spec.name!r}")


def validate_call(
    call: IntentCall, schemas: Mapping[str, IntentSchema], vocabulary: Vocabulary
) -> IntentCall:
    """The call with canonical slot values; InvalidCall if it must not run."""
    schema = schemas.get(call.intent)
    if schema is None:
        raise InvalidCall(f"unknown intent {call.intent!r}")
    specs = {spec.name: spec for spec in schema.slots}
    slots: dict[str, Any] = {}
    for key, value in call.slots.items():
        spec = specs.get(key)
        if spec is None:
            raise InvalidCall(f"intent {call.intent} has no slot {key!r}")
        slots[key] = check_value(spec, value, vocabulary)
    missing = [spec.name for spec in schema.slots if spec.required and spec.name not in slots]
    if missing:
        raise InvalidCall(f"intent {call.intent} is missing required slot(s) {', '.join(missing)}")
    targets = [spec.name for spec in schema.slots if spec.kind in TARGET_KINDS]
    if "domain" in targets and not any(t in slots for t in targets):
        # A many-target intent ("turn off") naming no device, room or kind of
        # device would act on everything in reach: not on a model's guess.
        raise InvalidCall(f"intent {call.intent} names no device, area or kind of device")
    return IntentCall(call.intent, slots)
