"""The Home Assistant intent test suite as data: its cases and one home for all of them.

The suite's `_fixtures.yaml` is the base home; many case files add their own
entities and areas ("Overhead Light" for "turn on the overhead light in the
kitchen").  They are merged into one home: an added entity without an area is
placed where its sentences say it is, so the command can really be carried
out by a device, not only recognised.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SUITE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "ha-intents-en"
if not SUITE.is_dir():  # the checkout may live elsewhere than next to ../shared
    SUITE = Path("/work/shared/conformance/ha-intents-en")

# What this gateway does: the list.
SUPPORTED = (
    "HassTurnOn", "HassTurnOff", "HassLightSet", "HassSetPosition", "HassFanSetSpeed",
    "HassClimateSetTemperature", "HassClimateGetTemperature", "HassGetState",
    "HassVacuumStart", "HassVacuumReturnToBase", "HassGetCurrentTime", "HassGetCurrentDate",
    "HassNevermind", "HassStartTimer", "HassCancelTimer", "HassCancelAllTimers",
    "HassPauseTimer", "HassUnpauseTimer", "HassTimerStatus", "HassIncreaseTimer",
    "HassDecreaseTimer",
)  # fmt: skip

OUT_OF_SCOPE = {
    "HassBroadcast": "no other satellites to broadcast to on a standalone gateway",
    "HassGetWeather": "needs a weather service; the gateway is offline by design",
    "HassListAddItem": "to-do lists live in Home Assistant, not on MQTT devices",
    "HassListCompleteItem": "to-do lists live in Home Assistant, not on MQTT devices",
    "HassListRemoveItem": "to-do lists live in Home Assistant, not on MQTT devices",
    "HassShoppingListAddItem": "shopping lists live in Home Assistant",
    "HassShoppingListCompleteItem": "shopping lists live in Home Assistant",
    "HassMediaSearchAndPlay": "media search needs a media library and players",
    "HassMediaNext": "media players are not in the device model (no media_player domain)",
    "HassMediaPrevious": "media players are not in the device model",
    "HassMediaPause": "media players are not in the device model",
    "HassMediaUnpause": "media players are not in the device model",
    "HassMediaPlayerMute": "media players are not in the device model",
    "HassMediaPlayerUnmute": "media players are not in the device model",
    "HassSetVolume": "media players are not in the device model",
    "HassSetVolumeRelative": "media players are not in the device model",
    "HassLawnMowerDock": "lawn mowers are not in the device model",
    "HassLawnMowerStartMowing": "lawn mowers are not in the device model",
    "HassVacuumCleanArea": "needs per-area cleaning segments only HA's integrations map",
    "HassRespond": "a canned reply for HA automations, no device involved",
}

# Intents that must make a device do something.
ACTING = frozenset(
    {
        "HassTurnOn", "HassTurnOff", "HassLightSet", "HassSetPosition", "HassFanSetSpeed",
        "HassClimateSetTemperature", "HassVacuumStart", "HassVacuumReturnToBase",
    }
)  # fmt: skip

# Case files about things outside the device model, with the reason.
OUT_OF_SCOPE_FILES = {
    "HassGetState/name_where.yaml": "where a person is needs HA's person/zone tracking",
    "HassGetState/name_zone.yaml": "whether a person is home needs HA's person/zone tracking",
    "HassTurnOn/name_script.yaml": "scripts are Home Assistant automations, not devices",
}

CONTEXT_AREA = "Living Room"  # where the test satellite stands ("turn on the lights in here")


@dataclass(frozen=True)
class Case:
    """One sentence, what it must mean, and the file it came from."""

    intent: str
    sentence: str
    slots: dict[str, Any]
    response: str | None
    file: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "unnamed"


def load_cases(intents: tuple[str, ...] = SUPPORTED) -> list[Case]:
    """Every sentence of the given intents, in file order."""
    cases: list[Case] = []
    for intent in intents:
        for path in sorted((SUITE / intent).glob("*.yaml")):
            if f"{intent}/{path.name}" in OUT_OF_SCOPE_FILES:
                continue
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for test in data.get("tests") or []:
                for sentence in test.get("sentences") or []:
                    cases.append(
                        Case(
                            intent=test.get("intent", {}).get("name", intent)
                            if isinstance(test.get("intent"), dict)
                            else intent,
                            sentence=sentence,
                            slots=dict(test.get("slots") or {}),
                            response=test.get("response"),
                            file=f"{intent}/{path.name}",
                        )
                    )
    return cases


_IMPLIED_DOMAIN = {
    "HassClimateSetTemperature": "climate",
    "HassClimateGetTemperature": "climate",
    "HassFanSetSpeed": "fan",
    "HassLightSet": "light",
    "HassVacuumStart": "vacuum",
}


def _case_files(intents: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for intent in intents:
        for path in sorted((SUITE / intent).glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            data["_implied_domain"] = _IMPLIED_DOMAIN.get(intent)
            yield data


def merged_fixtures(intents: tuple[str, ...] = SUPPORTED) -> dict[str, Any]:
    """_fixtures.yaml plus every case file's own entities and areas, as one fixtures dict."""
    base = yaml.safe_load((SUITE / "_fixtures.yaml").read_text(encoding="utf-8"))
    floors: list[dict[str, Any]] = list(base.get("floors") or [])
    floor_ids = {f["name"]: f["id"] for f in floors}
    areas: list[dict[str, Any]] = list(base.get("areas") or [])
    area_ids = {a["name"]: a["id"] for a in areas}
    area_floor = {a["id"]: a.get("floor") for a in areas}
    entities: list[dict[str, Any]] = list(base.get("entities") or [])
    known = {(e["name"].casefold(), str(e["id"]).split(".")[0]) for e in entities}

    def floor_id(name: str) -> str:
        if name not in floor_ids:
            floor_ids[name] = f"{_slug(name)}_id"
            floors.append({"name": name, "id": floor_ids[name]})
        return floor_ids[name]

    def area_id(name: str, floor: str | None = None) -> str:
        if name not in area_ids:
            area_ids[name] = f"{_slug(name)}_id"
            fid = floor_id(floor) if floor else None
            areas.append({"name": name, "id": area_ids[name], "floor": fid})
            area_floor[area_ids[name]] = fid
        return area_ids[name]

    # Where do the sentences place each added name?  (first area, else an area on the floor)
    placed: dict[str, str] = {}
    files = list(_case_files(intents))
    for data in files:
        for area in data.get("areas") or []:
            area_id(area["name"], area.get("floor"))
    for data in files:
        for test in data.get("tests") or []:
            slots = test.get("slots") or {}
            name = slots.get("name")
            if not isinstance(name, str):
                continue
            if isinstance(slots.get("area"), str):
                placed.setdefault(name.casefold(), area_id(slots["area"]))
            elif isinstance(slots.get("floor"), str):
                fid = floor_id(slots["floor"])
                on_floor = [a for a, f in area_floor.items() if f == fid]
                if on_floor:
                    placed.setdefault(name.casefold(), on_floor[0])
    for data in files:
        for item in data.get("entities") or []:
            domain = item.get("domain")
            key = (item["name"].casefold(), domain)
            if not domain or key in known:
                continue
            known.add(key)
            entity: dict[str, Any] = {
                "name": item["name"],
                "id": f"{domain}.{_slug(item['name'])}",
                "attributes": dict(item.get("attributes") or {}),
            }
            if item.get("state") is not None:
                entity["state"] = item["state"]
            if item.get("area"):
                entity["area"] = area_id(item["area"])
            elif item["name"].casefold() in placed:
                entity["area"] = placed[item["name"].casefold()]
            entities.append(entity)
    _make_consistent(files, entities, area_id, area_floor, floor_id)
    for entity in entities:
        # The sentences set every cover's and valve's position ("curtains to 50%").
        if str(entity["id"]).split(".")[0] in ("cover", "valve"):
            attributes = dict(entity.get("attributes") or {})
            opened = entity.get("state") in ("open", "opening", None)
            attributes.setdefault("position", "100" if opened else "0")
            entity["attributes"] = attributes
    return {"language": "en", "floors": floors, "areas": areas, "entities": entities}


def _make_consistent(
    files: list[dict[str, Any]],
    entities: list[dict[str, Any]],
    area_id: Any,
    area_floor: dict[str, str | None],
    floor_id: Any,
) -> None:
    """Add the devices the sentences assume: "the play corner lights in the kitchen"
    needs a Play Corner in the kitchen, "open the kitchen blinds" a blind there."""

    def domain_of(entity: dict[str, Any]) -> str:
        return str(entity["id"]).split(".")[0]

    for data in files:
        for test in data.get("tests") or []:
            slots = test.get("slots") or {}
            area = slots.get("area") if isinstance(slots.get("area"), str) else None
            floor = slots.get("floor") if isinstance(slots.get("floor"), str) else None
            if area is None and floor is not None:
                fid = floor_id(floor)
                on_floor = [a for a, f in area_floor.items() if f == fid]
                if not on_floor:
                    continue
                aid = on_floor[0]
            elif area is not None:
                aid = area_id(area)
            else:
                continue
            name = slots.get("name")
            if isinstance(name, str):
                same = [e for e in entities if e["name"].casefold() == name.casefold()]
                if not same or any(e.get("area") == aid for e in same):
                    continue
                if (
                    floor is not None
                    and area is None
                    and any(area_floor.get(e.get("area") or "") == area_floor[aid] for e in same)
                ):
                    continue
                copy = dict(same[0], area=aid, id=f"{same[0]['id']}_{aid.removesuffix('_id')}")
                entities.append(copy)
                continue
            domain = slots.get("domain") or data.get("_implied_domain")
            device_class = slots.get("device_class")
            if not isinstance(domain, str):
                continue
            if isinstance(device_class, str):
                label = device_class
            elif domain in ("light", "fan", "climate", "switch", "vacuum"):
                label = domain
            else:
                continue
            fitting = [
                e
                for e in entities
                if domain_of(e) == domain
                and (
                    not isinstance(device_class, str)
                    or (e.get("attributes") or {}).get("device_class") == device_class
                )
                and (
                    e.get("area") == aid
                    if area is not None
                    else area_floor.get(e.get("area") or "") == area_floor[aid]
                )
            ]
            if fitting:
                continue
            spoken = (area or floor or "").title()
            added: dict[str, Any] = {
                "name": f"{spoken} {label.replace('_', ' ').title()}",
                "id": f"{domain}.{_slug(spoken)}_{_slug(label)}",
                "area": aid,
                "attributes": {"device_class": device_class} if device_class else {},
            }
            entities.append(added)


def timers_from_fixtures() -> list[dict[str, Any]]:
    """The running timers the suite's timer sentences refer to."""
    base = yaml.safe_load((SUITE / "_fixtures.yaml").read_text(encoding="utf-8"))
    areas = {a["id"]: a["name"] for a in base.get("areas") or []}
    timers = []
    for timer in base.get("timers") or []:
        timers.append(
            {
                "name": timer.get("name"),
                "area": areas.get(timer.get("area")),
                "hms": (
                    int(timer.get("start_hours", 0)),
                    int(timer.get("start_minutes", 0)),
                    int(timer.get("start_seconds", 0)),
                ),
                "seconds": float(timer.get("total_seconds_left", 60)),
                "active": timer.get("is_active", True),
            }
        )
    return timers
