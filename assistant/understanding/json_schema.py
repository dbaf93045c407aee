"""The model's output as a JSON schema, for servers that take one instead of a grammar.

Ollama and vLLM constrain decoding with an OpenAI ``response_format`` JSON
schema rather than a GBNF grammar.  This is the same language as
`grammar.build_grammar`, from the same source (the intents, their usable
slots, the live names, the validator's limits): one call, a list of up to
`MAX_CALLS` calls, or ``{"intent":"none"}``; intents, names, areas, floors
and closed sets as enums; integers inside the slot's range; short free text.
A schema cannot fix the order of keys or forbid whitespace: neither matters
to `parse_output`, which checks the result again either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.understanding.calls import IntentSchema, SlotSpec, Vocabulary
from assistant.understanding.grammar import (
    MAX_CALLS,
    NONE,
    TEXT_CHARS,
    number_bounds,
    usable_slots,
)
from assistant.understanding.validate import MAX_TEXT_CHARS, slot_choices

__all__ = ["build_json_schema"]

JsonSchema = dict[str, Any]


def _value_schema(spec: SlotSpec, vocabulary: Vocabulary) -> JsonSchema:
    if spec.kind in ("number", "duration"):
        low, high = number_bounds(spec)
        return {"type": "integer", "minimum": low, "maximum": high}
    if spec.kind == "text":
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_TEXT_CHARS,
            "pattern": f"^[{TEXT_CHARS}]+$",
        }
    # usable_slots keeps only slots with choices, so this set is never empty.
    return {"type": "string", "enum": list(dict.fromkeys(slot_choices(spec, vocabulary) or ()))}


def _object(intent: str, slots: Sequence[SlotSpec], vocabulary: Vocabulary) -> JsonSchema:
    properties: JsonSchema = {"intent": {"type": "string", "const": intent}}
    for spec in slots:
        properties[spec.name] = _value_schema(spec, vocabulary)
    return {
        "type": "object",
        "properties": properties,
        "required": ["intent", *(spec.name for spec in slots if spec.required)],
        "additionalProperties": False,
    }


def build_json_schema(schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> JsonSchema:
    """The JSON schema of the model's output (see the module docstring)."""
    calls = []
    for schema in schemas:
        slots = usable_slots(schema, vocabulary)
        if slots is not None:  # e.g. a floor intent in a home without floors
            calls.append(_object(schema.name, slots, vocabulary))
    none = _object(NONE, (), vocabulary)
    call: JsonSchema = {"anyOf": calls} if calls else none
    return {
        "$defs": {"call": call},
        "anyOf": [
            none,
            {"$ref": "#/$defs/call"},
            {
                "type": "array",
                "items": {"$ref": "#/$defs/call"},
                "minItems": 1,
                "maxItems": MAX_CALLS,
            },
        ],
    }
