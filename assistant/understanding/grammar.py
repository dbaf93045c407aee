"""GBNF grammar for the LLM fallback, generated from intent schemas and live names.

The model's whole output is one of::

    {"intent":"HassTurnOn","name":"Kitchen Light"}           one call
    [{"intent":"HassTurnOff","name":"Fan"},{"intent":...}]   a compound command
    {"intent":"none"}                                        nothing to do

Slots are keys next to ``intent`` (flat, no nesting: fewer tokens for a tiny
model), always in the schema's order, without whitespace. Intent names, entity
names, areas, floors, domains, device classes, colours and enum choices are
alternatives of literals, so the sampler cannot produce a device or an intent
that does not exist. Numbers only admit integers inside the slot's range.

The same rules (validate.py) check the output again (`parse_output`): the
grammar constrains sampling, but a result is only trusted after it is re-checked.
Everything here is pure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from assistant.understanding.calls import IntentCall, IntentSchema, SlotSpec, Vocabulary
from assistant.understanding.validate import (
    MAX_DURATION_SECONDS,
    MAX_TEXT_CHARS,
    InvalidCall,
    slot_choices,
    validate_call,
)

__all__ = [
    "OutputError",
    "Vocabulary",
    "build_grammar",
    "focus",
    "gbnf_literal",
    "integer_range_rule",
    "json_literal",
    "number_bounds",
    "parse_output",
    "render_calls",
    "usable_slots",
]

MAX_CALLS = 4
TEXT_CHARS = "a-zA-Z0-9 ',.-"  # a character class: what free-text slots may hold
NONE = "none"
NONE_CALL = '{"intent":"none"}'


# ---------------------------------------------------------------- literals


def gbnf_literal(text: str) -> str:
    """`text` as a GBNF string literal (quotes, backslashes, control characters escaped)."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def json_literal(value: str) -> str:
    """The GBNF literal matching exactly the compact JSON encoding of string `value`."""
    return gbnf_literal(json.dumps(value, ensure_ascii=False))


def _alternatives(values: Iterable[str]) -> str:
    unique = list(dict.fromkeys(values))
    return "(" + " | ".join(json_literal(v) for v in unique) + ")"


# ---------------------------------------------------------------- numbers


def _digit_class(low: int, high: int) -> str:
    if low == high:
        return f'"{low}"'
    return f"[{low}-{high}]"


def _same_length_range(low: str, high: str) -> list[str]:
    """GBNF sequences matching every integer between two equal-length digit strings."""
    width = len(low)
    if width == 1:
        return [_digit_class(int(low), int(high))]
    if low[1:] == "0" * (width - 1) and high[1:] == "9" * (width - 1):
        return [" ".join([_digit_class(int(low[0]), int(high[0]))] + ["[0-9]"] * (width - 1))]
    if low[0] == high[0]:
        return [f'"{low[0]}" {rest}' for rest in _same_length_range(low[1:], high[1:])]
    parts = [f'"{low[0]}" {rest}' for rest in _same_length_range(low[1:], "9" * (width - 1))]
    if int(high[0]) - int(low[0]) > 1:
        middle = _digit_class(int(low[0]) + 1, int(high[0]) - 1)
        parts.append(" ".join([middle] + ["[0-9]"] * (width - 1)))
    parts += [f'"{high[0]}" {rest}' for rest in _same_length_range("0" * (width - 1), high[1:])]
    return parts


def _natural_range(low: int, high: int) -> list[str]:
    """Alternatives for integers low..high (0 <= low <= high), no leading zeros."""
    parts: list[str] = []
    for width in range(len(str(low)), len(str(high)) + 1):
        first = 0 if width == 1 else 10 ** (width - 1)
        last = 10**width - 1
        lo, hi = max(low, first), min(high, last)
        if lo <= hi:
            parts += _same_length_range(str(lo), str(hi))
    return parts


def integer_range_rule(minimum: int, maximum: int) -> str:
    """A GBNF expression that admits exactly the integers minimum..maximum."""
    if minimum > maximum:
        raise ValueError(f"empty range {minimum}..{maximum}")
    parts: list[str] = []
    if maximum >= 0:
        parts += _natural_range(max(minimum, 0), maximum)
    if minimum < 0:
        low_abs = max(1, -maximum)
        parts += [f'"-" {p}' for p in _natural_range(low_abs, -minimum)]
    return "(" + " | ".join(f"({p})" for p in parts) + ")"


def number_bounds(spec: SlotSpec) -> tuple[int, int]:
    """The integers a number or duration slot's constrained output may take."""
    low = -999_999 if spec.minimum is None else math.ceil(spec.minimum)
    high = 999_999 if spec.maximum is None else math.floor(spec.maximum)
    if spec.kind == "duration":  # the validator's bounds for durations
        low, high = max(low, 1), min(high, MAX_DURATION_SECONDS)
    return int(low), int(high)


# ---------------------------------------------------------------- slots


def _value_rule(spec: SlotSpec, vocabulary: Vocabulary) -> str | None:
    """The GBNF expression for a slot's value; None when no value is possible."""
    if spec.kind in ("number", "duration"):
        return integer_range_rule(*number_bounds(spec))
    if spec.kind == "text":
        return f'"\\"" text-char{{1,{MAX_TEXT_CHARS}}} "\\""'
    choices = slot_choices(spec, vocabulary)
    if not choices:
        return None
    return _alternatives(choices)


def usable_slots(schema: IntentSchema, vocabulary: Vocabulary) -> list[SlotSpec] | None:
    """The slots that can take a value now; None if a required slot cannot."""
    slots = []
    for spec in schema.slots:
        if _value_rule(spec, vocabulary) is None:
            if spec.required:
                return None
            continue
        slots.append(spec)
    return slots


def build_grammar(schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> str:
    """The GBNF grammar (root rule `root`) for the model's output."""
    lines = []
    call_rules = []
    for index, schema in enumerate(schemas):
        slots = usable_slots(schema, vocabulary)
        if slots is None:
            continue  # e.g. a floor intent in a home without floors
        rule = f"call{index}"
        parts = [gbnf_literal('{"intent":' + json.dumps(schema.name, ensure_ascii=False))]
        for slot_index, spec in enumerate(slots):
            value_rule = f"v{index}-{slot_index}"
            value = _value_rule(spec, vocabulary)
            lines.append(f"{value_rule} ::= {value}")
            key = gbnf_literal("," + json.dumps(spec.name, ensure_ascii=False) + ":")
            item = f"{key} {value_rule}"
            parts.append(item if spec.required else f"({item})?")
        parts.append('"}"')
        lines.append(f"{rule} ::= " + " ".join(parts))
        call_rules.append(rule)
    # "none" is spelled as a call so the model decides at the intent name, with
    # the whole sentence in view, rather than at the first character.
    none = gbnf_literal(NONE_CALL)
    more = f'("," call){{0,{MAX_CALLS - 1}}}'
    lines.insert(0, "call ::= " + " | ".join(call_rules) if call_rules else "call ::= none")
    lines.insert(0, f'root ::= none | call | "[" call {more} "]"')
    lines.insert(1, f"none ::= {none}")
    lines.append(f"text-char ::= [{TEXT_CHARS}]")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- decoding


class OutputError(InvalidCall):
    """The model's output is not JSON of the expected shape."""


def _call_of(item: Any) -> IntentCall:
    """One decoded JSON object as an IntentCall (its values are checked by validate_call)."""
    if not isinstance(item, dict):
        raise OutputError(f"expected an object, got {type(item).__name__}")
    intent = item.get("intent")
    if not isinstance(intent, str):
        raise OutputError(f"unknown intent {intent!r}")
    return IntentCall(intent, {k: v for k, v in item.items() if k != "intent"})


def parse_output(
    raw: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
) -> list[IntentCall]:
    """Decode and validate the model's raw output; [] means "none".

    Raises InvalidCall (one-line message; OutputError when it is not even
    the right shape) for anything malformed or outside the schemas and names.
    """
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError as error:
        raise OutputError(f"output is not JSON ({error.msg} at char {error.pos})") from None
    if decoded in (NONE, {"intent": NONE}):
        return []
    by_name = {schema.name: schema for schema in schemas}
    items = decoded if isinstance(decoded, list) else [decoded]
    if not items:
        raise OutputError("empty list of calls")
    if len(items) > MAX_CALLS:
        raise OutputError(f"more than {MAX_CALLS} calls")
    calls = [validate_call(_call_of(item), by_name, vocabulary) for item in items]
    # The same call twice ("let the water flow, open up the water valve") is one.
    return [call for index, call in enumerate(calls) if call not in calls[:index]]


def render_calls(calls: Sequence[IntentCall], schemas: Sequence[IntentSchema]) -> str:
    """Calls in exactly the form the grammar produces (used for few-shot examples)."""
    if not calls:
        return NONE_CALL
    order = {schema.name: [spec.name for spec in schema.slots] for schema in schemas}

    def one(call: IntentCall) -> str:
        keys = order.get(call.intent, list(call.slots))
        items: dict[str, Any] = {"intent": call.intent}
        items.update({key: call.slots[key] for key in keys if key in call.slots})
        return json.dumps(items, ensure_ascii=False, separators=(",", ":"))

    if len(calls) == 1:
        return one(calls[0])
    return "[" + ",".join(one(call) for call in calls) + "]"


def _words(text: str) -> set[str]:
    # Crude singulars so "lights" finds "Light"; enough for matching names.
    out = set()
    for word in "".join(c if c.isalnum() else " " for c in text.casefold()).split():
        out.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return out


def _named_in(values: tuple[str, ...], said: set[str]) -> tuple[str, ...]:
    """The values whose every word was said; all values when none was."""
    named = tuple(v for v in values if _words(v) and _words(v) <= said)
    return named or values


def focus(vocabulary: Vocabulary, text: str) -> Vocabulary:
    """Narrow the names, areas and floors to those the sentence spells out in full.

    A tiny model picks a wrong but plausible device far more often than it
    misses one that was said; when the sentence names devices, the grammar
    only offers those. Kinds the sentence does not name stay complete, so
    "make it dark upstairs" still reaches every floor.
    """
    said = _words(text)
    return Vocabulary(
        names=_named_in(vocabulary.names, said),
        areas=_named_in(vocabulary.areas, said),
        floors=_named_in(vocabulary.floors, said),
    )
