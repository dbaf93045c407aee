"""Everyday speech for a synthetic home: families of paraphrase patterns with labels.

A family is one meaning ("too dark in a room" -> lights on there) with a
target picker and several wordings.  Each wording is a *pattern*; patterns,
not families, are split between train, dev and test (``pattern_split``), so
the test set measures wordings the model never saw.  Placeholders: ``{dev}``
a device name or alias, ``{dev2}`` a second one, ``{area}``, ``{floor}``,
``{kind}`` the spoken kind of device, ``{num}`` a number (digits or words),
``{color}``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.devices.entities import Entity
from assistant.devices.vocabulary import COLORS
from assistant.understanding.calls import IntentCall
from assistant.understanding.lists import entity_names

from .homes import Home
from .numbers import say_number

Fill = dict[str, str]
Pick = Callable[[Home, random.Random], tuple[Fill, list[IntentCall]] | None]
# What people call a kind of device, by domain (plural used after "all the").
KIND_WORDS = {
    "light": ("lights", "light", "lamps"), "fan": ("fan", "fans"), "switch": ("plug",),
    "cover": ("blinds", "curtains", "shades"), "lock": ("lock", "locks"),
    "vacuum": ("vacuum", "robot vacuum", "hoover"), "climate": ("heating", "thermostat"),
}  # fmt: skip
CLASS_WORDS = {
    "garage": "garage door", "gate": "gate", "blind": "blinds", "curtain": "curtains",
    "shade": "shades", "shutter": "shutters", "awning": "awning", "window": "window",
    "door": "door",
}  # fmt: skip


@dataclass(frozen=True)
class Family:
    """One meaning, how its target is picked, and its wordings (patterns)."""

    id: str
    pick: Pick
    variants: tuple[str, ...]


def pattern_split(index: int) -> str:
    """The split of a family's `index`-th wording: the 2nd is test, the 4th dev."""
    return {1: "test", 3: "dev"}.get(index % 7, "train")


def spoken(entity: Entity, rng: random.Random) -> tuple[str, str]:
    """(what is said, the registry spelling the label carries) for one entity."""
    name = rng.choice(entity_names(entity))
    return name.lower(), name


def with_article(rng: random.Random, said: str) -> str:
    """A spoken name as people say it: mostly "the desk lamp", sometimes "desk lamp"."""
    return said if rng.random() < 0.3 else f"the {said}"


def named(intent: str, domains: tuple[str, ...], feature: str | None = None) -> Pick:
    """A device by name (only devices with `feature` when given)."""

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        found = [e for e in home.entities if e.domain in domains]
        found = [e for e in found if feature is None or feature in e.features]
        if not found:
            return None
        said, name = spoken(rng.choice(found), rng)
        return {"dev": with_article(rng, said)}, [IntentCall(intent, {"name": name})]

    return pick


def named_value(
    intent: str, domains: tuple[str, ...], slot: str, span: tuple[int, int], feature: str | None
) -> Pick:
    """A device by name and a number for `slot`; `{num}` in words or digits."""
    base = named(intent, domains, feature)

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        got = base(home, rng)
        if got is None:
            return None
        fill, calls = got
        low, high = span
        value = rng.randrange(low, high + 1, 5 if high - low > 30 else 1)
        fill["num"] = say_number(value, rng)
        return fill, [IntentCall(intent, {**calls[0].slots, slot: value})]

    return pick


def fixed_value(intent: str, domains: tuple[str, ...], slot: str, value: int, feature: str) -> Pick:
    """A device by name with a value the wording implies ("halfway" = 50)."""
    base = named(intent, domains, feature)

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        got = base(home, rng)
        if got is None:
            return None
        fill, calls = got
        return fill, [IntentCall(intent, {**calls[0].slots, slot: value})]

    return pick


def colored(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
    """A colour light and a colour."""
    got = named("HassLightSet", ("light",), "color")(home, rng)
    if got is None:
        return None
    fill, calls = got
    color = rng.choice(COLORS)
    fill["color"] = color
    return fill, [IntentCall("HassLightSet", {**calls[0].slots, "color": color})]


def area_kind(intent: str, domain: str, slot: str | None = None) -> Pick:
    """An area that has a device of `domain`, named by the room: {area, domain}.

    With `slot`, a number for it too (`{num}`: "the kitchen lights at forty").
    """

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        areas = sorted({e.area for e in home.of_domain(domain) if e.area})
        if not areas:
            return None
        area = rng.choice(areas)
        fill = {"area": area.lower(), "kind": rng.choice(KIND_WORDS.get(domain, (domain,)))}
        slots: dict[str, Any] = {"area": area, "domain": domain}
        if slot is not None:
            slots = {"area": area, slot: rng.randrange(10, 101, 5)}
            fill["num"] = say_number(slots[slot], rng)
        return fill, [IntentCall(intent, slots)]

    return pick


def floor_kind(intent: str, domain: str) -> Pick:
    """A floor with a device of `domain`: {floor, domain}."""

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        floors = sorted(
            {home.floors[e.area] for e in home.of_domain(domain) if e.area in home.floors}
        )
        if not floors:
            return None
        floor = rng.choice(floors)
        return {"floor": floor.lower(), "kind": KIND_WORDS[domain][0]}, [
            IntentCall(intent, {"floor": floor, "domain": domain})
        ]

    return pick


def kind_only(intent: str, covers: bool = False) -> Pick:
    """A kind of device without its name: {domain}, or for covers {domain, device_class}."""

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        if covers:
            classes = sorted({e.device_class for e in home.of_domain("cover") if e.device_class})
            classes = [c for c in classes if c in CLASS_WORDS]
            if not classes:
                return None
            cls = rng.choice(classes)
            slots = {"domain": "cover", "device_class": cls}
            return {"kind": CLASS_WORDS[cls]}, [IntentCall(intent, slots)]
        domains = [d for d in ("light", "fan") if home.of_domain(d)]
        if not domains:
            return None
        domain = rng.choice(domains)
        return {"kind": rng.choice(KIND_WORDS[domain])}, [IntentCall(intent, {"domain": domain})]

    return pick


def two(first: str, second: str, domains: tuple[str, ...]) -> Pick:
    """Two devices in one sentence: a compound command."""

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        found = [e for e in home.entities if e.domain in domains]
        if len(found) < 2:
            return None
        one, other = rng.sample(found, 2)
        said1, name1 = spoken(one, rng)
        said2, name2 = spoken(other, rng)
        calls = [IntentCall(first, {"name": name1}), IntentCall(second, {"name": name2})]
        return {"dev": with_article(rng, said1), "dev2": with_article(rng, said2)}, calls

    return pick


def area_only(intent: str, domain: str) -> Pick:
    """An area with a device of `domain` for questions: {area}."""

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        areas = sorted({e.area for e in home.of_domain(domain) if e.area})
        if not areas:
            return None
        area = rng.choice(areas)
        return {"area": area.lower()}, [IntentCall(intent, {"area": area})]

    return pick


# The durations a timer wording draws from, by its unit slot.
DURATIONS = {"minutes": (1, 2, 3, 5, 10, 15, 20, 25, 30, 45), "hours": (1, 2, 3, 4, 6, 8)}


def fixed(intent: str, **slots: Any) -> Pick:
    """No target: the time, the date, "never mind", a timer (minutes=0 or hours=0: a number)."""

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        for unit, values in DURATIONS.items():
            if unit in slots:
                value = rng.choice(values)
                return {"num": say_number(value, rng)}, [IntentCall(intent, {unit: value})]
        return {}, [IntentCall(intent, dict(slots))]

    return pick


def anywhere(intent: str, domain: str, slot: str | None = None) -> Pick:
    """No target named, in a home with a device of `domain` ("make it 21 degrees in here").

    With `slot`, a number for it (`{num}`, 16-28: a temperature).
    """

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        if not home.of_domain(domain):
            return None
        if slot is None:
            return {}, [IntentCall(intent, {})]
        value = rng.randrange(16, 29)
        return {"num": say_number(value, rng)}, [IntentCall(intent, {slot: value})]

    return pick


def state_of(domain: str, state: str) -> Pick:
    """Is a device in a state: {name, state}."""
    base = named("HassGetState", (domain,))

    def pick(home: Home, rng: random.Random) -> tuple[Fill, list[IntentCall]] | None:
        got = base(home, rng)
        if got is None:
            return None
        fill, calls = got
        return fill, [IntentCall("HassGetState", {**calls[0].slots, "state": state})]

    return pick
