"""Types shared by the template matcher, the LLM fallback and the intent handlers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

SlotKind = Literal[
    "name",  # an entity name or alias from the registry
    "area",  # an area name
    "floor",  # a floor name
    "domain",  # light, fan, cover, ...
    "device_class",  # garage, window, blind, ...
    "number",  # an integer/float within [minimum, maximum]
    "enum",  # one of `choices`
    "text",  # free text (timer names, list items)
    "color",  # a colour name
    "duration",  # seconds
]


@dataclass(frozen=True)
class SlotSpec:
    """One slot an intent takes."""

    name: str
    kind: SlotKind
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class IntentCall:
    """One intent with its slot values, from templates or from the model."""

    intent: str
    slots: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IntentSchema:
    """What an intent accepts: used to build the LLM grammar and to validate calls."""

    name: str
    description: str
    slots: tuple[SlotSpec, ...] = ()
    sensitive: bool = False


@dataclass(frozen=True)
class Vocabulary:
    """The live names the home knows: what the LLM grammar and the validator may name.

    Tuples, so a vocabulary is hashable (the LLM keeps a grammar per focused one).
    """

    names: tuple[str, ...] = ()
    """Entity names and aliases."""
    areas: tuple[str, ...] = ()
    floors: tuple[str, ...] = ()
