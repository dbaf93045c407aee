"""The home of Home Assistant's intent test fixtures, as a simulated home.

home-assistant/intents ships ``tests/<lang>/_fixtures.yaml``: floors, areas
(with ids) and entities with ids, names, areas, states and attributes.  This
turns it into a ``Home`` so the conformance suite can run against devices
discovered over a real broker.  Domains the fleet cannot simulate (script,
weather, person, todo, media_player, lawn_mower, ...) are skipped and named.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.devices.entities import DOMAINS
from assistant.errors import UserError
from assistant.simulate.home import Home, parse_home, slugify

log = logging.getLogger("assistant.simulate")

# What each domain can do in the fixtures' sentences ("set kitchen lights to 50%",
# "set the main valve to 100"), so the simulated device accepts those commands.
_LIGHT_FEATURES = ["brightness", "color", "color_temp"]


@dataclass(frozen=True)
class FixtureHome:
    """The converted home and what could not be converted (entity id: reason)."""

    home: Home
    skipped: dict[str, str]
    renamed: dict[str, str]  # fixture id -> entity id, when the id was not a valid slug


def convert_ha_fixtures(data: Any, origin: str = "fixtures") -> FixtureHome:
    """Map the fixtures' floors, areas and supported entities to a home description."""
    if not isinstance(data, dict):
        raise UserError(f"{origin}: not a fixtures mapping")
    floors = {f["id"]: f["name"] for f in data.get("floors") or [] if isinstance(f, dict)}
    area_names: dict[str, str] = {}
    areas: list[dict[str, Any]] = []
    for area in data.get("areas") or []:
        area_names[area["id"]] = area["name"]
        areas.append({"name": area["name"], "floor": floors.get(area.get("floor"))})
    entities: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for item in data.get("entities") or []:
        fixture_id = str(item.get("id", ""))
        domain, _, object_id = fixture_id.partition(".")
        if domain not in DOMAINS:
            skipped[fixture_id] = f"domain {domain!r} is not simulated"
            continue
        slug = slugify(object_id)
        if slug != object_id:
            renamed[fixture_id] = f"{domain}.{slug}"
        attributes = dict(item.get("attributes") or {})
        spec: dict[str, Any] = {
            "kind": domain,
            "name": item["name"],
            "id": f"{domain}.{slug}",
            "device_class": attributes.pop("device_class", None),
            "unit": attributes.pop("unit_of_measurement", None),
        }
        if item.get("area"):
            spec["area"] = area_names[item["area"]]
        state = item.get("state")
        if isinstance(state, dict):  # {in: spoken form, out: the state}
            state = state.get("out")
        if state is not None and state != "":
            spec["state"] = str(state)
        features: list[str] = []
        if domain == "light":
            features = _LIGHT_FEATURES
        elif domain == "fan":
            features = ["percentage"]
        elif domain in ("cover", "valve") and "position" in attributes:
            features = ["position"]
        elif domain == "climate":
            # The fixtures speak Fahrenheit (68 inside): accept either scale.
            spec["min_temp"], spec["max_temp"] = 0.0, 100.0
            if spec.get("state") not in (None, "off", "heat", "cool", "auto"):
                spec["hvac_modes"] = ["off", "heat", "cool", "auto", spec["state"]]
        spec["features"] = features
        spec["attributes"] = attributes
        entities.append(spec)
    home = parse_home(
        {
            "name": "HA intent fixtures",
            "topic_root": "fixtures",
            "areas": areas,
            "entities": entities,
        },
        origin,
    )
    return FixtureHome(home, skipped, renamed)


def load_ha_fixtures(path: Path) -> FixtureHome:
    """Read a `_fixtures.yaml` file and convert it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: fixtures file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read fixtures ({exc})") from None
    return convert_ha_fixtures(data, str(path))


def home_from_ha_fixtures(path: Path) -> Home:
    """The fixtures as a home; what is skipped or renamed is logged once each."""
    result = load_ha_fixtures(path)
    for entity_id, reason in result.skipped.items():
        log.info("fixtures: skipped %s (%s)", entity_id, reason)
    for old, new in result.renamed.items():
        log.info("fixtures: %s is published as %s", old, new)
    return result.home
