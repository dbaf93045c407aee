"""The devices the pipeline commands: the registry and executor of the
device service on the shared MQTT connection, once discovery has settled."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from assistant.config import Settings
from assistant.devices.model import Executor
from assistant.devices.registry import Registry
from assistant.devices.service import DeviceService
from assistant.transports.mqtt import MqttConnection


@dataclass(frozen=True)
class Devices:
    """What understanding needs of the devices layer."""

    registry: Registry
    executor: Executor
    service: DeviceService


@contextlib.asynccontextmanager
async def open_devices(settings: Settings, connection: MqttConnection) -> AsyncIterator[Devices]:
    """Start the device service on `connection`; yield once discovery has settled."""
    registry = Registry()
    service = DeviceService(settings, registry, connection=connection)
    async with service:
        await service.wait_settled()
        yield Devices(registry, service.executor, service)
