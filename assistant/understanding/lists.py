"""Slot lists built from the live registry: entity names and aliases, areas, floors.

Mirrors Home Assistant's default conversation agent: every name value carries
a context with the entity's domain (and device class), which hassil checks
against a sentence block's ``requires_context`` / ``excludes_context`` so that
"open the front door" only matches a lock or a cover called "Front Door".
"""

from __future__ import annotations

import re
from typing import Any

from hassil.intents import SlotList, TextSlotList, TextSlotValue

from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.understanding.calls import Vocabulary

# Template syntax characters that must not be read as a template in a name.
_TEMPLATE_CHARS = re.compile(r"[\[\]{}<>()|;]")


def _plain(text: str) -> str:
    """A name as hassil literal text (no template syntax)."""
    return " ".join(_TEMPLATE_CHARS.sub(" ", text).split())


def name_context(entity: Entity) -> dict[str, Any]:
    """Context a matched name adds (checked by requires_context)."""
    context: dict[str, Any] = {"domain": entity.domain}
    if entity.device_class:
        context["device_class"] = entity.device_class
    return context


def entity_names(entity: Entity) -> list[str]:
    """The entity's name followed by its aliases, without duplicates."""
    seen: list[str] = []
    for text in (entity.name, *entity.aliases):
        plain = _plain(text)
        if plain and plain.casefold() not in (s.casefold() for s in seen):
            seen.append(plain)
    return seen


def build_slot_lists(registry: Registry) -> dict[str, SlotList]:
    """name / area / floor lists for hassil from what the registry knows now."""
    names: list[TextSlotValue] = []
    for entity in registry.entities():
        context = name_context(entity)
        for text in entity_names(entity):
            names.append(
                TextSlotValue.from_tuple(
                    (text, text, context, {"entity_id": entity.entity_id}), allow_template=False
                )
            )
    areas = [
        TextSlotValue.from_tuple((_plain(a), a), allow_template=False)
        for a in registry.areas()
        if _plain(a)
    ]
    floors = [
        TextSlotValue.from_tuple((_plain(f), f), allow_template=False)
        for f in registry.floors()
        if _plain(f)
    ]
    return {
        "name": TextSlotList(name="name", values=names),
        "area": TextSlotList(name="area", values=areas),
        "floor": TextSlotList(name="floor", values=floors),
    }


def vocabulary(registry: Registry) -> Vocabulary:
    """Names and aliases, areas and floors: what the LLM grammar may name."""
    names: dict[str, None] = {}
    for entity in registry.entities():
        names.update(dict.fromkeys(entity_names(entity)))
    return Vocabulary(
        names=tuple(names), areas=tuple(registry.areas()), floors=tuple(registry.floors())
    )
