"""Check an intent call against its schema and the live names before it runs.

The LLM's grammar already restricts what it can say; this is the second
line: an intent with no handler, a name no device has, a number out of
range or a missing required slot is refused, so nothing wrong executes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assistant.understanding.calls import IntentCall, IntentSchema, SlotSpec, Vocabulary

TARGET_KINDS = ("name", "area", "floor", "domain", "device_class")


class InvalidCall(ValueError):
    """The call does not fit its schema or the home; str() says why."""


def _fold(text: Any) -> str:
    return " ".join(str(text).casefold().split())


def _canonical(value: Any, known: Sequence[str], what: str) -> str:
    for item in known:
        if _fold(item) == _fold(value):
            return item
    raise InvalidCall(f"no {what} called {value!r}")


def _check_slot(spec: SlotSpec, value: Any, vocabulary: Vocabulary) -> Any:
    if spec.kind == "name":
        return _canonical(value, list(vocabulary.names), "device")
    if spec.kind == "area":
        return _canonical(value, vocabulary.areas, "area")
    if spec.kind == "floor":
        return _canonical(value, vocabulary.floors, "floor")
    if spec.kind in ("number", "duration"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidCall(f"{spec.name}: not a number ({value!r})")
        try:
            number = float(value)
        except ValueError:
            raise InvalidCall(f"{spec.name}: not a number ({value!r})") from None
        if spec.minimum is not None and number < spec.minimum:
            raise InvalidCall(f"{spec.name}: {number} is below {spec.minimum}")
        if spec.maximum is not None and number > spec.maximum:
            raise InvalidCall(f"{spec.name}: {number} is above {spec.maximum}")
        return int(number) if number.is_integer() else number
    if spec.kind in ("enum", "domain", "device_class", "color") and spec.choices:
        return _canonical(value, spec.choices, spec.name)
    if not isinstance(value, str | int | float):
        raise InvalidCall(f"{spec.name}: unexpected value {value!r}")
    return value


def validate_call(
    call: IntentCall, schemas: Mapping[str, IntentSchema], vocabulary: Vocabulary
) -> IntentCall:
    """The call with canonical slot values; InvalidCall if it must not run."""
    schema = schemas.get(call.intent)
    if schema is None:
        raise InvalidCall(f"unknown intent {call.intent!r}")
    specs = {s.name: s for s in schema.slots}
    slots: dict[str, Any] = {}
    for key, value in call.slots.items():
        if value is None:
            continue
        spec = specs.get(key)
        if spec is None:
            raise InvalidCall(f"{call.intent} takes no slot {key!r}")
        slots[key] = _check_slot(spec, value, vocabulary)
    missing = [s.name for s in schema.slots if s.required and s.name not in slots]
    if missing:
        raise InvalidCall(f"{call.intent}: missing {', '.join(missing)}")
    targets = [s.name for s in schema.slots if s.kind in TARGET_KINDS]
    if "domain" in targets and not any(t in slots for t in targets):
        # A many-target intent ("turn off") naming no device, room or kind of
        # device would act on everything in reach: not on a model's guess.
        raise InvalidCall(f"{call.intent}: names no device, area or kind of device")
    return IntentCall(call.intent, slots)
