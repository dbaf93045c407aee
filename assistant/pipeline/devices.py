"""The devices the pipeline commands: a registry and an executor.

- MQTT (default): the device service on the shared connection, once the
  retained discovery messages have settled;
- `[homeassistant] enabled`: a Home Assistant server over REST, refreshed
  periodically (then MQTT carries only the assistant's own interface);
- `[mqtt] enabled = false` without Home Assistant: there are no devices to
  command (the assistant still listens and answers).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from assistant.config import Settings
from assistant.devices.entities import Action, Executor
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.transports.mqtt import MqttConnection


@dataclass(frozen=True)
class Devices:
    """What understanding needs of the devices layer."""

    registry: Registry
    executor: Executor
    service: Any = None


class _NoDevices:
    """The executor when no device backend is configured."""

    async def execute(self, entity_id: str, action: str, **params: Any) -> Action:
        raise UserError("no device backend is configured ([mqtt] or [homeassistant])")


@contextlib.asynccontextmanager
async def open_devices(
    settings: Settings, connection: MqttConnection | None
) -> AsyncIterator[Devices]:
    """Start the configured device backend; yield once it knows the home."""
    registry = Registry()
    if settings.homeassistant.enabled:
        from assistant.transports.homeassistant import HomeAssistantBackend

        async with HomeAssistantBackend(
            settings.homeassistant, registry, settings.entities
        ) as backend:
            await backend.refresh()
            watcher = asyncio.create_task(backend.watch(), name="homeassistant-watch")
            try:
                yield Devices(registry, backend, backend)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        return
    if connection is None:
        yield Devices(registry, _NoDevices())
        return
    from assistant.devices.mqtt.service import DeviceService

    service = DeviceService(settings, registry, connection=connection)
    async with service:
        await service.wait_settled()
        yield Devices(registry, service.executor, service)
