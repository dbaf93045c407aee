"""Judging understanding against labelled sentences (bench/gazetteer.py, bench/stages.py).

A call is judged by the devices it reaches, resolved the way the handlers
resolve them (``match_targets``), not by its slot text: "kitchen light" and
"Kitchen Light" are the same answer, an area that holds only the one lamp is
the same answer as the lamp's name.

The paraphrase file lists two floors but not which areas are on them; its
registry puts Bedroom, Office and Bathroom upstairs and the rest on the
ground floor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.simulate.home import slugify
from assistant.understanding.calls import IntentCall
from assistant.understanding.targets import TargetError, match_targets, query_from_slots

ROOT = Path(__file__).resolve().parent.parent
PARAPHRASES = ROOT / "tests" / "data" / "paraphrases.yaml"
UPSTAIRS = {"Bedroom", "Office", "Bathroom"}
# The devices each intent's handler acts on, where its slots need not say.
INTENT_DOMAINS = {
    "HassLightSet": ("light",),
    "HassFanSetSpeed": ("fan",),
    "HassSetPosition": ("cover", "valve"),
    "HassClimateSetTemperature": ("climate",),
    "HassClimateGetTemperature": ("climate", "sensor"),
    "HassVacuumStart": ("vacuum",),
    "HassVacuumReturnToBase": ("vacuum",),
}
TARGET_SLOTS = ("name", "area", "floor", "domain", "device_class")
NOTHING = "<nothing>"
"""What a call that names no existing device of its kind reaches: an error reply, not an act."""
# Intents whose name and area slots are a timer's, never devices to act on.
NO_DEVICES = frozenset(
    {
        "HassStartTimer", "HassCancelTimer", "HassCancelAllTimers", "HassIncreaseTimer",
        "HassDecreaseTimer", "HassPauseTimer", "HassUnpauseTimer", "HassTimerStatus",
        "HassGetCurrentTime", "HassGetCurrentDate", "HassNevermind",
    }
)  # fmt: skip


def paraphrase_registry(home: dict[str, Any]) -> Registry:
    """The paraphrase file's home as a registry."""
    registry = Registry()
    floors = home["floors"]
    for area in home["areas"]:
        registry.set_floor(area, floors[1] if area in UPSTAIRS else floors[0])
    for item in home["entities"]:
        domain = item["domain"]
        registry.upsert(
            Entity(
                f"{domain}.{slugify(item['name'])}",
                item["name"],
                domain,
                "config",
                area=item.get("area"),
                device_class=item.get("device_class"),
            )
        )
    return registry


def reached(registry: Registry, call: IntentCall) -> frozenset[str]:
    """The entity ids a call would act on (empty when it names none).

    A call of an intent with its own kind of device that names no target acts
    on every device of that kind, as its handler does ("make it 21 degrees":
    the home's thermostats); other calls without a target act on nothing.
    """
    slots = dict(call.slots)
    if call.intent in NO_DEVICES:
        return frozenset()
    if not any(k in slots for k in TARGET_SLOTS) and call.intent not in INTENT_DOMAINS:
        return frozenset()
    try:
        query = query_from_slots(slots, INTENT_DOMAINS.get(call.intent, ()))
        return frozenset(e.entity_id for e in match_targets(registry, query))
    except TargetError:
        return frozenset({NOTHING})


def others(call: IntentCall) -> dict[str, str]:
    """The slots that are not the target, as text (numbers as ints where whole)."""
    out = {}
    for key, value in call.slots.items():
        if key in TARGET_SLOTS:
            continue
        whole = isinstance(value, float) and value.is_integer()
        out[key] = str(int(value) if whole else value).casefold()
    return out


def judge(registry: Registry, expected: list[IntentCall], got: list[IntentCall]) -> dict[str, bool]:
    """right / exact / wrong_device for one answered sentence."""
    if not expected:
        return {
            "right": False,
            "exact": False,
            "wrong_device": any(reached(registry, c) - {NOTHING} for c in got),
        }
    same_shape = len(expected) == len(got) and all(
        e.intent == g.intent for e, g in zip(expected, got, strict=False)
    )
    targets_ok = len(expected) == len(got) and all(
        reached(registry, e) == reached(registry, g) for e, g in zip(expected, got, strict=False)
    )
    wanted = set().union(*(reached(registry, e) for e in expected))
    acted = set().union(*(reached(registry, g) for g in got))
    right = same_shape and targets_ok
    exact = right and all(others(e) == others(g) for e, g in zip(expected, got, strict=False))
    return {"right": right, "exact": exact, "wrong_device": bool(acted - wanted - {NOTHING})}
