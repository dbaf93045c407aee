"""The one place that decides which device backend every command talks to.

``async with open_backend(settings) as devices:`` yields ``Devices`` (the
live registry and the executor) once the backend knows the home.  `run`,
`listen`, `demo`, `ask`, `intents test`, `devices` and `doctor` all open it,
so they all see the same entities:

- ``[homeassistant] enabled``: a Home Assistant server over REST, refreshed
  periodically (MQTT, if enabled, then carries only the assistant's own
  interface and the ``[[devices]]``);
- else ``[mqtt] enabled``: discovery, Zigbee2MQTT and ``[[devices]]`` on the
  broker;
- else none: the ``[[devices]]`` are listed and understood, and commanding
  them answers with one line saying no backend is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol

from assistant.config import Settings
from assistant.devices import configured
from assistant.devices.actions import ActionName, ActionParams
from assistant.devices.entities import Action, Executor
from assistant.devices.registry import Registry
from assistant.errors import UserError

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from assistant.transports.mqtt import MqttConnection

BackendName = Literal["homeassistant", "mqtt", "none"]
NO_BACKEND = "no device backend is configured ([mqtt] or [homeassistant])"


@dataclass(frozen=True)
class Devices:
    """What the rest of the assistant needs of the devices layer."""

    backend: BackendName
    registry: Registry
    executor: Executor


class DeviceBackend(Protocol):
    """A device backend: ``async with backend as devices`` yields once it knows the home."""

    async def __aenter__(self) -> Devices:
        """Connect, learn the entities, and keep them current until exit."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool | None:
        """Stop keeping the registry current and close the connection."""
        ...


def backend_name(settings: Settings) -> BackendName:
    """Which backend `open_backend` opens for these settings."""
    if settings.homeassistant.enabled:
        return "homeassistant"
    return "mqtt" if settings.mqtt.enabled else "none"


def open_backend(
    settings: Settings,
    *,
    connection: MqttConnection | None = None,
    reconnect: bool = True,
) -> DeviceBackend:
    """The configured device backend, to be entered with ``async with``.

    `connection`: the MQTT connection to share (the long-running assistant
    has one); without it the MQTT parts open their own.  `reconnect=False`
    (one-shot commands such as `devices`): connect once and fail with one
    ``UserError`` line if the broker is unreachable, instead of waiting.
    """
    name = backend_name(settings)
    if name == "homeassistant":
        return _homeassistant(settings, connection, reconnect)
    if name == "mqtt":
        return _mqtt(settings, connection, reconnect)
    return _none(settings)


class NoBackendExecutor:
    """The executor when nothing can carry a command: one clear line instead."""

    def __init__(self, reason: str = NO_BACKEND) -> None:
        self.reason = reason

    async def execute(
        self, entity_id: str, action: ActionName, **params: Unpack[ActionParams]
    ) -> Action:
        """Refuse with the reason (a UserError, which the reply speaks)."""
        raise UserError(self.reason)


class ConfigRoutedExecutor:
    """Home Assistant's entities through HA, the ``[[devices]]`` through MQTT (or a refusal)."""

    def __init__(self, registry: Registry, main: Executor, config: Executor) -> None:
        self._registry = registry
        self._main = main
        self._config = config

    async def execute(
        self, entity_id: str, action: ActionName, **params: Unpack[ActionParams]
    ) -> Action:
        """Send one command through whichever backend owns the entity."""
        entity = self._registry.get(entity_id)
        executor = self._config if entity is not None and entity.source == "config" else self._main
        return await executor.execute(entity_id, action, **params)


def add_config_devices(settings: Settings, registry: Registry) -> int:
    """Put the ``[[devices]]`` and the ``[areas]`` floors in the registry; returns how many."""
    for area, area_config in settings.areas.items():
        if area_config.floor:
            registry.set_floor(area, area_config.floor)
    from assistant.devices.mqtt.service import ASSISTANT_PREFIX

    devices = configured.parse_devices(settings.devices, (ASSISTANT_PREFIX,))
    for d in devices:
        registry.upsert(configured.apply_overrides(d, settings.entities).entity)
    return len(devices)


@contextlib.asynccontextmanager
async def _none(settings: Settings) -> AsyncIterator[Devices]:
    registry = Registry()
    add_config_devices(settings, registry)
    yield Devices("none", registry, NoBackendExecutor())


@contextlib.asynccontextmanager
async def _mqtt(
    settings: Settings, connection: MqttConnection | None, reconnect: bool
) -> AsyncIterator[Devices]:
    from assistant.devices.mqtt.service import DeviceService

    registry = Registry()
    service = DeviceService(settings, registry, connection=connection, reconnect=reconnect)
    async with service:
        if not reconnect and connection is None:
            await service.connection.connect_or_raise(timeout=settings.discovery.max_wait_seconds)
        await service.wait_settled()
        yield Devices("mqtt", registry, service.executor)


@contextlib.asynccontextmanager
async def _homeassistant(
    settings: Settings, connection: MqttConnection | None, reconnect: bool
) -> AsyncIterator[Devices]:
    from assistant.devices.homeassistant.backend import HomeAssistantBackend

    registry = Registry()
    async with contextlib.AsyncExitStack() as stack:
        if settings.devices and settings.mqtt.enabled:
            # Only the [[devices]] come from MQTT: discovery and Zigbee2MQTT
            # would duplicate what Home Assistant already reports.
            only_config = settings.model_copy(
                update={
                    "discovery": settings.discovery.model_copy(update={"enabled": False}),
                    "zigbee2mqtt": settings.zigbee2mqtt.model_copy(update={"enabled": False}),
                }
            )
            config_devices = await stack.enter_async_context(
                _mqtt(only_config, connection, reconnect)
            )
            registry = config_devices.registry
            config_executor = config_devices.executor
        else:
            add_config_devices(settings, registry)
            config_executor = NoBackendExecutor(
                "the [[devices]] are commanded over MQTT, and [mqtt] is disabled"
            )
        backend = await stack.enter_async_context(
            HomeAssistantBackend(settings.homeassistant, registry, settings.entities)
        )
        await backend.refresh()
        watcher = asyncio.create_task(backend.watch(), name="homeassistant-watch")
        try:
            executor = ConfigRoutedExecutor(registry, backend, config_executor)
            yield Devices("homeassistant", registry, executor)
        finally:
            watcher.cancel()
            # wait() does not re-raise the watcher's cancellation, only ours.
            await asyncio.wait([watcher])
