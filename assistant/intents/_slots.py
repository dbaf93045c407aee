"""Slot specs shared by the built-in handlers (for the LLM grammar and validation)."""

from __future__ import annotations

from assistant.devices.entities import DOMAINS
from assistant.devices.vocabulary import COVER_CLASSES
from assistant.understanding.calls import SlotSpec

NAME = SlotSpec("name", "name", description="a device name or alias")
AREA = SlotSpec("area", "area", description="an area (room)")
FLOOR = SlotSpec("floor", "floor", description="a floor")
DOMAIN = SlotSpec("domain", "domain", choices=DOMAINS, description="kind of device")
DEVICE_CLASS = SlotSpec(
    "device_class", "device_class", choices=COVER_CLASSES, description="kind of cover"
)
TARGET = (NAME, AREA, FLOOR, DOMAIN)
