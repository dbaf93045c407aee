"""Pure helpers of the gazetteer stage: the registry as the matcher's home, and its readings.

Kept apart from the stage so that the conversions between the assistant's
registry and calls and ``gazetteer-matcher``'s home, targets and frames can be
read (and tested) without the stage's state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gazetteer_matcher import TargetReference  # type: ignore[import-untyped]

from assistant.devices.registry import Registry
from assistant.understanding.calls import IntentCall
from assistant.understanding.lists import entity_names

# Words that reverse or redirect a command ("lights out", "go home"): left
# unexplained on a command that changes a device, the action read may be the
# opposite of the one asked for, so the model gets the sentence instead.
_REVERSING = frozenset({"out", "off", "on", "up", "down", "back", "home", "not", "no", "never"})
_ACTS = frozenset(
    {
        "HassTurnOn", "HassTurnOff", "HassLightSet", "HassSetPosition", "HassFanSetSpeed",
        "HassClimateSetTemperature", "HassVacuumStart", "HassVacuumReturnToBase",
    }
)  # fmt: skip
_TARGET_SLOTS = ("name", "area", "floor", "domain", "device_class")
# "make sure the front door is locked": the matcher reads a state question, but
# said as an order it asks for that state.  Words that may come before the order.
_ORDERS = (("make", "sure"), ("ensure",))
_BEFORE_ORDER = frozenset({"please", "um", "uh", "hey", "okay", "ok", "so", "oh", "can", "could",
                           "would", "will", "you", "just"})  # fmt: skip
_STATE_ACTIONS = {
    "locked": "HassTurnOn", "unlocked": "HassTurnOff", "on": "HassTurnOn", "off": "HassTurnOff",
    "open": "HassTurnOn", "closed": "HassTurnOff",
}  # fmt: skip


def build_home(registry: Registry) -> dict[str, Any]:
    """The matcher's ``home`` from the registry, keyed by entity id, area and floor name.

    Areas and floors are keyed by their names, so frames carry the names the
    handlers match on; entities by their id, so a frame picks out one device
    even where two share a name.
    """
    areas: dict[str, Any] = {}
    for area in registry.areas():
        areas[area] = {"name": area, "floor": registry.floor_of(area)}
    floors: dict[str, Any] = {floor: {"name": floor} for floor in registry.floors()}
    entities: dict[str, Any] = {}
    for entity in registry.entities():
        names = entity_names(entity)
        if not names:
            continue
        spec: dict[str, Any] = {
            "name": names[0],
            "aliases": names[1:],
            "domain": entity.domain,
            "area": entity.area if entity.area in areas else None,
        }
        if entity.device_class:
            spec["device_class"] = entity.device_class
        entities[entity.entity_id] = spec
    return {"areas": areas, "floors": floors, "entities": entities}


def targets_of_calls(registry: Registry, calls: Sequence[IntentCall]) -> tuple[object, ...]:
    """Follow-up targets for calls from another stage (the templates, the model).

    A ``name`` becomes the entity (or entities) it names, narrowed by the call's
    area; otherwise the area, floor or whole home with the domain / device
    class the call named.  Calls that name no target (the time) add nothing.
    """
    found: list[object] = []
    for call in calls:
        slots = call.slots
        kind = {
            k: str(slots[k]) for k in ("domain", "device_class") if isinstance(slots.get(k), str)
        }
        name, area, floor = slots.get("name"), slots.get("area"), slots.get("floor")
        refs: list[object] = []
        if isinstance(name, str):
            wanted = " ".join(name.casefold().split())
            for entity in registry.entities():
                named = any(n.casefold() == wanted for n in entity_names(entity))
                if named and (not isinstance(area, str) or entity.area == area):
                    refs.append(TargetReference.for_entity(entity.entity_id))
        elif isinstance(area, str):
            refs.append(TargetReference.for_area(area, **kind))
        elif isinstance(floor, str):
            refs.append(TargetReference.for_floor(floor, **kind))
        elif kind:
            refs.append(TargetReference(slots=kind, scope="home"))
        found.extend(r for r in refs if r not in found)
    return tuple(found)


def which_one(labels: Sequence[str]) -> str:
    """ "Which one: Kitchen Ceiling or Kitchen Counter?" """
    if len(labels) == 1:
        return f"Did you mean {labels[0]}?"
    return f"Which one: {', '.join(labels[:-1])} or {labels[-1]}?"


def tied_readings(matcher: Any, candidates: Sequence[Any]) -> list[Any]:
    """The best acceptable readings that tie, as the matcher ranks them."""
    viable = [
        c
        for c in candidates
        if not c.violations
        and len(c.unexplained_important_tokens) <= matcher.max_unexplained_important
        and len(c.unexplained_unimportant_tokens) <= matcher.max_unexplained_unimportant
    ]
    if not viable:
        return []
    best = min(c.cost for c in viable)
    return [c for c in viable if c.cost == best]


def other_slots(slots: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in slots.items() if k not in _TARGET_SLOTS))


def target_key(registry: Registry, candidate: Any) -> tuple[str, ...]:
    """The entity a candidate names, or its target slots when it names none."""
    slots = candidate.slots
    if "name" in slots and registry.get(str(slots["name"])) is not None:
        return ("entity", str(slots["name"]))
    return tuple(f"{k}={slots[k]}" for k in _TARGET_SLOTS if k in slots)


def doubtful(frame: Any, tokens: Sequence[Any]) -> bool:
    """A device command with words left over that may reverse it, or with content unread."""
    if frame.intent not in _ACTS:
        return False
    if frame.unexplained_important_tokens:
        return True
    return any(tokens[i].text in _REVERSING for i in frame.unexplained_unimportant_tokens)


def ordered_state(call: IntentCall, tokens: Sequence[Any]) -> IntentCall | None:
    """The action a state question said as an order asks for ("make sure X is locked")."""
    if call.intent != "HassGetState":
        return None
    words = [str(t.text).casefold() for t in tokens]
    while words and words[0] in _BEFORE_ORDER:
        words.pop(0)
    if not any(tuple(words[: len(order)]) == order for order in _ORDERS):
        return None
    intent = _STATE_ACTIONS.get(str(call.slots.get("state", "")).casefold())
    if intent is None:
        return None
    return IntentCall(intent, {k: v for k, v in call.slots.items() if k in _TARGET_SLOTS})
