"""Home Assistant's states and services in the assistant's own terms (pure functions).

- a state object -> an ``Entity`` (domains the assistant does not act on are
  skipped; features from HA's ``supported_features`` bits and colour modes);
- an action -> the ``(domain, service, body)`` of the service call that does it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assistant.devices.actions import ActionName, ActionParams
from assistant.devices.entities import DOMAINS, Entity, EntityState
from assistant.devices.vocabulary import is_sensitive_device
from assistant.errors import UserError

# HA feature bits (homeassistant.components.<domain>.<Domain>EntityFeature).
COVER_SET_POSITION = 4
VALVE_SET_POSITION = 4
FAN_SET_SPEED = 1


def service_call(
    entity: Entity, action: ActionName, params: ActionParams
) -> tuple[str, str, dict[str, Any]]:
    """(domain, service, body) for one executor verb on one entity; UserError if senseless."""
    domain = entity.domain
    body: dict[str, Any] = {"entity_id": entity.entity_id}

    def fail() -> UserError:
        return UserError(f"{entity.name} ({entity.entity_id}) cannot {action.replace('_', ' ')}")

    if action in ("turn_on", "set_brightness", "set_color") and domain == "light":
        if "brightness" in params:
            body["brightness_pct"] = int(params["brightness"])
        if "rgb" in params:
            body["rgb_color"] = [int(v) for v in params["rgb"]]
        if "color" in params:
            body["color_name"] = str(params["color"])
        if "color_temp_kelvin" in params:
            body["color_temp_kelvin"] = int(params["color_temp_kelvin"])
        if action == "set_brightness" and "brightness_pct" not in body:
            raise UserError("set_brightness needs a brightness")
        return "light", "turn_on", body
    if action in ("turn_on", "turn_off"):
        on = action == "turn_on"
        special = {
            "cover": "open_cover" if on else "close_cover",
            "valve": "open_valve" if on else "close_valve",
            "lock": "lock" if on else "unlock",
            "vacuum": "start" if on else "return_to_base",
            "button": "press" if on else None,
            "scene": "turn_on" if on else None,
            "sensor": None,
            "binary_sensor": None,
        }
        service = special.get(domain, action)
        if service is None:
            raise fail()
        if domain == "fan" and on and "percentage" in params:
            body["percentage"] = int(params["percentage"])
        return domain, service, body
    if action == "toggle":
        if domain in ("sensor", "binary_sensor", "button", "scene", "vacuum"):
            raise fail()
        return "homeassistant", "toggle", body
    table: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
        ("cover", "open"): ("open_cover", {}),
        ("cover", "close"): ("close_cover", {}),
        ("cover", "stop"): ("stop_cover", {}),
        ("valve", "open"): ("open_valve", {}),
        ("valve", "close"): ("close_valve", {}),
        ("valve", "stop"): ("stop_valve", {}),
        ("lock", "open"): ("open", {}),
        ("lock", "lock"): ("lock", {}),
        ("lock", "unlock"): ("unlock", {}),
        ("vacuum", "start"): ("start", {}),
        ("vacuum", "stop"): ("stop", {}),
        ("vacuum", "return_to_base"): ("return_to_base", {}),
        ("button", "press"): ("press", {}),
        ("scene", "activate"): ("turn_on", {}),
    }
    try:
        if action == "set_position" and domain in ("cover", "valve"):
            service = "set_cover_position" if domain == "cover" else "set_valve_position"
            return domain, service, {**body, "position": int(params["position"])}
        if action == "set_temperature" and domain == "climate":
            body["temperature"] = float(params["temperature"])
            if params.get("hvac_mode"):
                body["hvac_mode"] = str(params["hvac_mode"])
            return "climate", "set_temperature", body
        if action == "set_hvac_mode" and domain == "climate":
            return "climate", "set_hvac_mode", {**body, "hvac_mode": str(params["hvac_mode"])}
        if action == "set_fan_speed" and domain == "fan":
            return "fan", "set_percentage", {**body, "percentage": int(params["percentage"])}
    except KeyError as missing:
        raise UserError(f"{action} needs {missing.args[0]}") from None
    except (TypeError, ValueError):
        raise UserError(f"{action}: bad value in {dict(params)!r}") from None
    if (domain, action) in table:
        service, extra = table[(domain, action)]
        return domain, service, {**body, **extra}
    raise fail()


def entity_from_state(
    state: Mapping[str, Any], areas: Mapping[str, tuple[str, str | None]]
) -> Entity | None:
    """A registry Entity from one HA state object (None for domains we do not handle)."""
    entity_id = str(state["entity_id"])
    domain = entity_id.split(".", 1)[0]
    if domain not in DOMAINS:
        return None
    attrs: Mapping[str, Any] = state.get("attributes") or {}
    area, floor = areas.get(entity_id, (None, None))
    device_class = attrs.get("device_class")
    return Entity(
        entity_id=entity_id,
        name=str(attrs.get("friendly_name") or entity_id.split(".", 1)[1].replace("_", " ")),
        domain=domain,
        source="home assistant",
        area=area,
        floor=floor,
        device_class=str(device_class) if device_class else None,
        features=_features(domain, attrs),
        sensitive=is_sensitive_device(domain, device_class),
        unit=attrs.get("unit_of_measurement"),
    )


def _features(domain: str, attrs: Mapping[str, Any]) -> frozenset[str]:
    bits = int(attrs.get("supported_features") or 0)
    features: set[str] = set()
    if domain == "light":
        modes = set(attrs.get("supported_color_modes") or [])
        if modes - {"onoff"}:
            features.add("brightness")
        if modes & {"hs", "xy", "rgb", "rgbw", "rgbww"}:
            features.add("color")
        if "color_temp" in modes:
            features.add("color_temp")
    elif (domain == "cover" and bits & COVER_SET_POSITION) or (
        domain == "valve" and bits & VALVE_SET_POSITION
    ):
        features.add("position")
    elif domain == "fan" and bits & FAN_SET_SPEED:
        features.add("percentage")
    return frozenset(features)


def entity_state(raw: Mapping[str, Any]) -> EntityState:
    """The registry state of one HA state object."""
    state = str(raw.get("state"))
    attrs = dict(raw.get("attributes") or {})
    return EntityState(state=state, attributes=attrs, available=state != "unavailable")
