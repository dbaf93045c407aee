"""The devices the pipeline commands: registry + executor over the shared
MQTT connection (assistant.devices), waited for until the retained discovery
messages have arrived."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from assistant.config import Settings
from assistant.devices.model import Executor
from assistant.devices.registry import Registry
from assistant.transports.mqtt import MqttConnection


@dataclass(frozen=True)
class Devices:
    """What understanding needs of the devices layer."""

    registry: Registry
    executor: Executor
    service: Any = None


@contextlib.asynccontextmanager
async def open_devices(settings: Settings, connection: MqttConnection) -> AsyncIterator[Devices]:
    """Start the device service on `connection`; yield once discovery has settled."""
    # issue 3's DeviceService; imported by name so this module loads without it.
    device_service: Any = importlib.import_module("assistant.devices.service")
    svc: Any = device_service.DeviceService(settings, connection)
    async with svc:
        await svc.wait_ready()
        yield Devices(svc.registry, svc.executor, svc)
