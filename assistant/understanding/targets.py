"""Which entities a request is about: by name, area, floor, domain and device class.

A pure function over the registry, like Home Assistant's ``async_match_targets``
(simplified): it returns every matching entity, so "turn off the lights in
the bedroom" acts on all of them, and names an error key of the intents
package's error responses when nothing matches.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.understanding.lists import entity_names


class TargetError(Exception):
    """Nothing matched; `key` is an error response key, `values` fill its template."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class TargetQuery:
    """What the slots say about the target."""

    name: str | None = None
    area: str | None = None
    floor: str | None = None
    domains: tuple[str, ...] = ()
    device_classes: tuple[str, ...] = ()


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value)
    return (str(value),)


def query_from_slots(slots: dict[str, Any], domains: Collection[str] = ()) -> TargetQuery:
    """A TargetQuery from intent slots; `domains` narrows to what the handler supports."""
    slot_domains = _as_tuple(slots.get("domain"))
    allowed = tuple(d for d in slot_domains if not domains or d in domains) or tuple(domains)
    if slot_domains and not allowed:
        allowed = slot_domains
    return TargetQuery(
        name=slots.get("name"),
        area=slots.get("area"),
        floor=slots.get("floor"),
        domains=allowed,
        device_classes=_as_tuple(slots.get("device_class")),
    )


def _fold(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def _named(entity: Entity, name: str) -> bool:
    wanted = _fold(name)
    return any(_fold(n) == wanted for n in entity_names(entity))


def _in_floor(registry: Registry, entity: Entity, floor: str) -> bool:
    wanted = _fold(floor)
    if _fold(entity.floor) == wanted:
        return True
    return bool(entity.area) and _fold(registry.floor_of(entity.area or "")) == wanted


def _domain_words(domains: tuple[str, ...]) -> str:
    return domains[0] if domains else "device"


def match_targets(registry: Registry, query: TargetQuery) -> list[Entity]:
    """Every entity that fits the query; TargetError when none does."""
    entities = registry.entities()
    if query.area and not any(_fold(a) == _fold(query.area) for a in registry.areas()):
        raise TargetError("no_area", area=query.area)
    if query.floor and not any(_fold(f) == _fold(query.floor) for f in registry.floors()):
        raise TargetError("no_floor", floor=query.floor)
    if query.name:
        named = [e for e in entities if _named(e, query.name)]
        if not named:
            raise TargetError("no_entity", entity=query.name)
        if query.domains:
            # "set the front door fan speed": a name of the wrong kind does nothing.
            named = [e for e in named if e.domain in query.domains]
            if not named:
                raise TargetError("feature_not_supported")
        if query.area:
            in_area = [e for e in named if _fold(e.area) == _fold(query.area)]
            if not in_area:
                raise TargetError("no_entity_in_area", entity=query.name, area=query.area)
            named = in_area
        if query.floor:
            on_floor = [e for e in named if _in_floor(registry, e, query.floor)]
            if not on_floor:
                raise TargetError("no_entity_in_floor", entity=query.name, floor=query.floor)
            named = on_floor
        return named
    found = entities
    if query.domains:
        found = [e for e in found if e.domain in query.domains]
    if query.device_classes:
        found = [e for e in found if e.device_class in query.device_classes]
    if query.area:
        found = [e for e in found if _fold(e.area) == _fold(query.area)]
    if query.floor:
        found = [e for e in found if _in_floor(registry, e, query.floor)]
    if found:
        return found
    what = _domain_words(query.domains)
    if query.device_classes:
        device_class = query.device_classes[0]
        if query.area:
            raise TargetError("no_device_class_in_area", device_class=device_class, area=query.area)
        if query.floor:
            raise TargetError(
                "no_device_class_in_floor", device_class=device_class, floor=query.floor
            )
        raise TargetError("no_device_class", device_class=device_class)
    if query.area:
        raise TargetError("no_domain_in_area", domain=what, area=query.area)
    if query.floor:
        raise TargetError("no_domain_in_floor", domain=what, floor=query.floor)
    raise TargetError("no_domain", domain=what)
