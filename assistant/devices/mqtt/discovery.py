"""Home Assistant MQTT discovery configs -> entities with their protocol.

``parse_config`` is pure: an expanded discovery config (see
``discovery_schema.expand``) becomes a ``Discovered``: the ``Entity`` the rest
of the assistant sees, plus the full config (HA key names, HA defaults
filled in) that the executor and the state interpreter read.  Zigbee2MQTT
and config devices produce the same ``Discovered`` so that one executor and
one state interpreter serve every MQTT source.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from assistant.devices.entities import Entity, Source
from assistant.devices.mqtt.discovery_checks import check_config
from assistant.devices.mqtt.discovery_defaults import DEFAULTS, REQUIRED
from assistant.devices.mqtt.discovery_schema import COMPONENTS, InvalidConfig
from assistant.devices.vocabulary import is_sensitive_device

_JSON_COLOR_MODES = {"hs", "xy", "rgb", "rgbw", "rgbww"}
_BRIGHTNESS_MODES = _JSON_COLOR_MODES | {"brightness", "color_temp", "white"}


@dataclass(frozen=True)
class Availability:
    """One availability topic and its payloads."""

    topic: str
    payload_available: str = "online"
    payload_not_available: str = "offline"
    value_template: str | None = None


@dataclass(frozen=True)
class Discovered:
    """An entity as learned from MQTT, with the protocol to command it and read its state."""

    entity: Entity
    component: str
    schema: str  # "default" or "json" (lights); "default" for everything else
    config: Mapping[str, Any]
    key: str  # the source's own id: discovery key, z2m ieee/expose, config id
    availability: tuple[Availability, ...] = ()
    availability_mode: str = "latest"
    identifiers: frozenset[str] = field(default_factory=frozenset)

    def topic(self, name: str) -> str | None:
        """A topic option of the config, or None."""
        value = self.config.get(name)
        return value if isinstance(value, str) and value else None


def slugify(text: str) -> str:
    """Home Assistant's slug: ascii, lower case, runs of other characters -> `_`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return slug or "unnamed"


_NAMED_BY_DEVICE_CLASS = ("sensor", "binary_sensor", "button")


def friendly_name(config: Mapping[str, Any], fallback: str, component: str = "") -> str:
    """HA's naming rule (since 2024.2): device name, plus the entity name unless it is null.

    A sensor, binary_sensor or button with no `name` key is named by its
    device class ("Hub Temperature"), as in HA.  Other entities with no
    `name` key take the device name alone (HA would say "MQTT Light": no
    name to speak).  With no device: the entity name, else the object id in
    words.  A name that repeats the device name is kept as is, as HA now does.
    """
    device = config.get("device")
    device_name = device.get("name") if isinstance(device, Mapping) else None
    name = config.get("name")
    name = str(name).strip() or None if name is not None else None
    device_class = config.get("device_class")
    if "name" not in config and component in _NAMED_BY_DEVICE_CLASS and device_class:
        name = str(device_class).replace("_", " ").capitalize()
    if isinstance(device_name, str) and device_name.strip():
        device_name = device_name.strip()
        return f"{device_name} {name}" if name else device_name
    return name or fallback.replace("_", " ")


def entity_id_for(component: str, config: Mapping[str, Any], name: str) -> str:
    """`default_entity_id`, else `object_id`, else the slug of the friendly name."""
    default_id = config.get("default_entity_id")
    object_id = config.get("object_id")
    if isinstance(default_id, str) and default_id.strip():
        return f"{component}.{slugify(default_id.split('.', 1)[-1])}"
    if isinstance(object_id, str) and object_id.strip():
        return f"{component}.{slugify(object_id)}"
    return f"{component}.{slugify(name)}"


def _availability(config: Mapping[str, Any]) -> tuple[Availability, ...]:
    items: list[Availability] = []
    if isinstance(config.get("availability_topic"), str):
        items.append(
            Availability(
                topic=config["availability_topic"],
                payload_available=str(config.get("payload_available", "online")),
                payload_not_available=str(config.get("payload_not_available", "offline")),
                value_template=config.get("availability_template"),
            )
        )
    raw = config.get("availability") or ()
    if not isinstance(raw, list | tuple):
        raise InvalidConfig("availability must be a list")
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("topic"), str):
            raise InvalidConfig("availability entries need a topic")
        items.append(
            Availability(
                topic=item["topic"],
                payload_available=str(item.get("payload_available", "online")),
                payload_not_available=str(item.get("payload_not_available", "offline")),
                value_template=item.get("value_template"),
            )
        )
    return tuple(items)


def _light_features(schema: str, config: Mapping[str, Any]) -> set[str]:
    features: set[str] = set()
    if schema == "json":
        modes = set(config.get("supported_color_modes") or ())
        if config.get("brightness") or modes & _BRIGHTNESS_MODES:
            features.add("brightness")
        if modes & _JSON_COLOR_MODES or config.get("rgb") or config.get("xy") or config.get("hs"):
            features.add("color")
        if "color_temp" in modes or config.get("color_temp"):
            features.add("color_temp")
        return features
    if config.get("brightness_command_topic") or config.get("on_command_type") == "brightness":
        features.add("brightness")
    if any(config.get(f"{m}_command_topic") for m in ("rgb", "hs", "xy", "rgbw", "rgbww")):
        features.add("color")
    if config.get("color_temp_command_topic"):
        features.add("color_temp")
    return features


def features_of(component: str, schema: str, config: Mapping[str, Any]) -> frozenset[str]:
    """What the entity can do beyond its component's basics (for intents and grammars)."""
    has = config.get
    features: set[str] = set()
    if component == "light":
        features = _light_features(schema, config)
    elif component == "cover":
        features = {
            name
            for name, ok in (
                ("open_close", has("command_topic")),
                ("stop", has("command_topic") and has("payload_stop") is not None),
                ("position", has("set_position_topic")),
            )
            if ok
        }
    elif component == "valve":
        features = {"open_close"} if has("command_topic") else set()
        if has("reports_position"):
            features.add("position")
        if has("command_topic") and has("payload_stop") is not None:
            features.add("stop")
    elif component == "fan":
        if has("percentage_command_topic"):
            features.add("percentage")
        if has("preset_mode_command_topic") and has("preset_modes"):
            features.add("preset")
    elif component == "climate":
        if has("temperature_command_topic"):
            features.add("target_temperature")
        if has("mode_command_topic"):
            features.add("hvac_mode")
        if has("power_command_topic"):
            features.add("power")
    elif component == "vacuum":
        features = {str(f) for f in has("supported_features") or ()}
    elif component == "lock" and "payload_open" in config:
        features.add("open")
    return frozenset(features)


def _is_payload(key: str) -> bool:
    return key.startswith("payload_")


def parse_config(
    component: str,
    config: Mapping[str, Any],
    *,
    key: str,
    object_id: str,
    source: Source = "discovery",
    reserved: Iterable[str] = (),
    discovery_prefix: str | None = None,
) -> Discovered:
    """An expanded discovery config -> Discovered; InvalidConfig (one line) if unusable."""
    if component not in COMPONENTS:
        raise InvalidConfig(f"unknown component {component!r}")
    schema = str(config.get("schema", "default")) if component == "light" else "default"
    if schema == "basic":
        schema = "default"
    if schema == "template":
        raise InvalidConfig("the light 'template' schema is not supported")
    if schema not in ("default", "json"):
        raise InvalidConfig(f"unknown light schema {schema!r}")
    defaults = DEFAULTS["light_json" if schema == "json" else component]
    # An explicit null keeps its meaning for the name (device name only) and
    # for payloads ("payload_stop": null: the cover has no stop); elsewhere
    # it means "use the default".
    kept = {k: v for k, v in config.items() if v is not None or k == "name" or _is_payload(k)}
    full = {**defaults, **kept}
    for required in REQUIRED.get(component, ()):
        if not full.get(required):
            raise InvalidConfig(f"{component} config has no {required}")
    check_config(full, reserved, discovery_prefix)
    scale = full.get("brightness_scale", 255)
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise InvalidConfig(f"brightness_scale must be a positive integer, not {scale!r}")
    device = full.get("device")
    if device is not None and not isinstance(device, Mapping):
        raise InvalidConfig("device must be an object")
    name = friendly_name(full, object_id, component)
    area = device.get("suggested_area") if isinstance(device, Mapping) else None
    device_class = full.get("device_class")
    unit = full.get("unit_of_measurement")
    entity = Entity(
        entity_id=entity_id_for(component, full, name),
        name=name,
        domain=component,
        source=source,
        area=str(area) if area else None,
        device_class=str(device_class) if device_class else None,
        features=features_of(component, schema, full),
        sensitive=is_sensitive_device(component, device_class),
        unit=str(unit) if unit else None,
    )
    mode = str(full.get("availability_mode", "latest"))
    if mode not in ("latest", "all", "any"):
        raise InvalidConfig(f"unknown availability_mode {mode!r}")
    identifiers: set[str] = set()
    if isinstance(device, Mapping):
        ids = device.get("identifiers") or ()
        identifiers.update(str(i) for i in ([ids] if isinstance(ids, str) else ids))
        for connection in device.get("connections") or ():
            if isinstance(connection, list | tuple) and len(connection) == 2:
                identifiers.add(str(connection[1]))
    return Discovered(
        entity=entity,
        component=component,
        schema=schema,
        config=MappingProxyType(full),
        key=key,
        availability=_availability(full),
        availability_mode=mode,
        identifiers=frozenset(identifiers),
    )
