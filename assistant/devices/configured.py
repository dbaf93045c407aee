"""Devices described in the TOML (`[[devices]]`) and per-entity overrides.

A ``[[devices]]`` entry becomes the discovery config Home Assistant would
accept for that component (payload_on/off mapped onto the component's own
payload keys: open/close for covers and valves, lock/unlock for locks,
press for buttons), so it is commanded and read like any discovered entity.
Payloads left unset take the component's Home Assistant default.

``[entities."<id>"]`` overrides (aliases, area, sensitive) are applied on top
of every source, config devices included.

Sensitive by default (``vocabulary.is_sensitive_device``): every lock (unlock),
covers of device_class garage or gate (open), valves of device_class gas
(open).  Water valves and ordinary covers are not: closing or opening them
is routine, and asking every time would train users to say "yes" blindly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from assistant.config import DeviceConfig, EntityOverride
from assistant.devices.mqtt.discovery import Discovered, parse_config, slugify
from assistant.devices.mqtt.discovery_schema import InvalidConfig

log = logging.getLogger(__name__)

_PAYLOAD_KEYS: dict[str, tuple[str, str]] = {
    "cover": ("payload_open", "payload_close"),
    "valve": ("payload_open", "payload_close"),
    "lock": ("payload_lock", "payload_unlock"),
}
_STATE_KEYS: dict[str, tuple[str, str]] = {
    "cover": ("state_open", "state_closed"),
    "valve": ("state_open", "state_closed"),
    "lock": ("state_locked", "state_unlocked"),
}


def device_config(device: DeviceConfig) -> dict[str, Any]:
    """The Home Assistant style config for one `[[devices]]` entry."""
    config: dict[str, Any] = {"name": device.name}
    if device.command_topic:
        config["command_topic"] = device.command_topic
    if device.state_topic:
        config["state_topic"] = device.state_topic
    if device.device_class:
        config["device_class"] = device.device_class
    if device.area:
        config["device"] = {"suggested_area": device.area}
    explicit = device.model_fields_set
    on_set, off_set = "payload_on" in explicit, "payload_off" in explicit
    kind = device.kind
    if kind in _PAYLOAD_KEYS:
        on_key, off_key = _PAYLOAD_KEYS[kind]
        state_on, state_off = _STATE_KEYS[kind]
        if on_set:
            config[on_key] = config[state_on] = device.payload_on
        if off_set:
            config[off_key] = config[state_off] = device.payload_off
    elif kind == "button":
        if on_set:
            config["payload_press"] = device.payload_on
    elif kind == "climate":
        if device.command_topic:
            config["temperature_command_topic"] = config.pop("command_topic")
        if device.state_topic:
            config["current_temperature_topic"] = config.pop("state_topic")
    else:
        if on_set or kind != "scene":
            config["payload_on"] = device.payload_on
        if kind != "scene":
            config["payload_off"] = device.payload_off
    config["object_id"] = device.id or slugify(device.name)
    return config


def parse_devices(
    devices: tuple[DeviceConfig, ...], reserved: tuple[str, ...] = ()
) -> list[Discovered]:
    """Config devices -> entities; a bad one is skipped with one warning line."""
    found: list[Discovered] = []
    for index, device in enumerate(devices):
        config = device_config(device)
        try:
            d = parse_config(
                device.kind,
                config,
                key=f"config/{index}",
                object_id=str(config["object_id"]),
                source="config",
                reserved=reserved,
            )
        except InvalidConfig as exc:
            log.warning("[[devices]] %r: skipped: %s", device.name, exc)
            continue
        entity = d.entity
        if device.area:
            entity = replace(entity, area=device.area)
        if device.aliases:
            entity = replace(entity, aliases=tuple(device.aliases))
        if device.sensitive is not None:
            entity = replace(entity, sensitive=device.sensitive)
        found.append(replace(d, entity=entity))
    return found


def apply_overrides(d: Discovered, overrides: Mapping[str, EntityOverride]) -> Discovered:
    """Aliases, area and sensitivity from `[entities."<id>"]`, on top of any source."""
    override = overrides.get(d.entity.entity_id)
    if override is None:
        return d
    entity = d.entity
    if override.aliases:
        merged = tuple(dict.fromkeys((*entity.aliases, *override.aliases)))
        entity = replace(entity, aliases=merged)
    if override.area is not None:
        entity = replace(entity, area=override.area)
    if override.sensitive is not None:
        entity = replace(entity, sensitive=override.sensitive)
    return replace(d, entity=entity)
