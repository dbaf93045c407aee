"""`DeviceService`: the MQTT wiring that keeps the registry live.

Subscribes to Home Assistant discovery (`<prefix>/#`), Zigbee2MQTT's
`<base>/bridge/devices`, and every entity's state and availability topics;
parses with the pure functions of ``discovery``, ``zigbee2mqtt`` and
``configured``; writes entities and states into the ``Registry``.  Bad input
is skipped with one warning line and never touches what is already there.

Entity ids are unique: a second config claiming a taken id gets `_2`, `_3`
as in Home Assistant.  Zigbee2MQTT devices that also arrive by discovery
(identifier ``zigbee2mqtt_<ieee>``) are kept from discovery only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Self

from assistant.config import Settings
from assistant.devices import configured
from assistant.devices.entities import EntityState
from assistant.devices.mqtt import discovery_schema, zigbee2mqtt
from assistant.devices.mqtt.claims import CommandTopics
from assistant.devices.mqtt.confirm import Confirmations
from assistant.devices.mqtt.discovery import Discovered, parse_config
from assistant.devices.mqtt.discovery_schema import COMPONENTS, InvalidConfig
from assistant.devices.mqtt.discovery_state import (
    availability_update,
    combine_availability,
    interpret,
    topics_of,
)
from assistant.devices.mqtt.executor import MqttExecutor
from assistant.devices.mqtt.jinja import TemplateFailed
from assistant.devices.registry import Registry
from assistant.transports.mqtt import Incoming, InvalidTopic, MqttConnection

log = logging.getLogger(__name__)

ASSISTANT_PREFIX = "assistant/"
ORIGIN_NAME = "assistant"
"""The `o` (origin) name of an assistant's own device config (integrations.ha_device)."""
MAX_STATE_BYTES = 64 * 1024  # device states are a few hundred bytes
# Home Assistant components this assistant does not model: skipped quietly.
_OTHER_HA_COMPONENTS = frozenset(
    {
        "alarm_control_panel", "camera", "device_automation", "device_tracker", "event",
        "humidifier", "image", "lawn_mower", "notify", "number", "select", "siren", "tag",
        "text", "update", "water_heater",
    }
)  # fmt: skip


@dataclass
class _Installed:
    d: Discovered
    unsubscribe: list[Callable[[], None]] = field(default_factory=list)
    availability: dict[str, bool] = field(default_factory=dict)


class DeviceService:
    """Connects, learns the home, keeps states current; exposes ``executor``."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        *,
        connection: MqttConnection | None = None,
        reconnect: bool = True,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self._own_connection = connection is None
        self.connection = connection or MqttConnection(settings.mqtt, reconnect=reconnect)
        self.confirmations = Confirmations()
        self.executor = MqttExecutor(self.discovered, registry, self.connection, self.confirmations)
        self._claims = CommandTopics()
        self._prefix = settings.discovery.prefix.strip("/")
        self._z2m_base = settings.zigbee2mqtt.base_topic.strip("/")
        self._reserved = (ASSISTANT_PREFIX,)
        self._installed: dict[str, _Installed] = {}  # source key -> entity
        self._by_entity: dict[str, str] = {}  # entity id -> source key
        self._z2m_all: dict[str, Discovered] = {}
        self._last_config = time.monotonic()
        self._unsubscribe: list[Callable[[], None]] = []

    async def __aenter__(self) -> Self:
        for area, area_config in self.settings.areas.items():
            if area_config.floor:
                self.registry.set_floor(area, area_config.floor)
        for d in configured.parse_devices(self.settings.devices, self._reserved):
            self._install(d)
        if self.settings.discovery.enabled:
            self._unsubscribe.append(
                self.connection.subscribe(f"{self._prefix}/#", self._on_discovery)
            )
        if self.settings.zigbee2mqtt.enabled:
            self._unsubscribe.append(
                self.connection.subscribe(f"{self._z2m_base}/bridge/devices", self._on_z2m)
            )
        if self._own_connection:
            await self.connection.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for installed in self._installed.values():
            for unsubscribe in installed.unsubscribe:
                unsubscribe()
        if self._own_connection:
            await self.connection.__aexit__(exc_type, exc, tb)

    # --- queries -----------------------------------------------------------
    def discovered(self, entity_id: str) -> Discovered | None:
        """The protocol description behind an entity id."""
        key = self._by_entity.get(entity_id)
        return self._installed[key].d if key is not None else None

    async def wait_settled(self) -> None:
        """Return once no new config arrived for `settle_seconds` (at most `max_wait_seconds`)."""
        config = self.settings.discovery
        deadline = time.monotonic() + config.max_wait_seconds
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(config.max_wait_seconds):
                await self.connection.wait_subscribed()
        subscribed_at = time.monotonic()
        while True:
            now = time.monotonic()
            quiet_until = max(self._last_config, subscribed_at) + config.settle_seconds
            if now >= quiet_until or now >= deadline:
                return
            await asyncio.sleep(min(quiet_until, deadline) - now)

    # --- discovery ---------------------------------------------------------
    def _on_discovery(self, message: Incoming) -> None:
        parsed = discovery_schema.parse_topic(self._prefix, message.topic)
        if parsed is None:
            return  # birth messages (<prefix>/status) and entity state topics
        self._last_config = time.monotonic()
        try:
            raw = discovery_schema.decode(message.payload)
            if parsed.component == "device":
                if _is_an_assistant(raw):
                    # A gateway announcing itself (ours or another's): its entities
                    # live under assistant/#, which is no device to command.
                    log.debug("discovery %s: an assistant's own device, skipped", message.topic)
                    return
                self._on_device_config(parsed.key, raw)
                return
            if parsed.component not in COMPONENTS:
                if parsed.component in _OTHER_HA_COMPONENTS:
                    log.debug("discovery %s: %s is not modelled", message.topic, parsed.component)
                    return
                raise InvalidConfig(f"unknown component {parsed.component!r}")
            key = f"discovery:{parsed.key}"
            if raw is None:
                self._remove(key)
                self._reconcile_z2m()  # a z2m device may come back from bridge/devices
                return
            d = self._parse(parsed.component, discovery_schema.expand(raw), key, parsed.object_id)
        except InvalidConfig as exc:
            log.warning("discovery %s: skipped: %s", message.topic, exc)
            return
        self._install(d)
        if self._z2m_all and any(i.startswith("zigbee2mqtt_") for i in d.identifiers):
            self._reconcile_z2m()

    def _parse(
        self, component: str, config: dict[str, object], key: str, object_id: str
    ) -> Discovered:
        return parse_config(
            component,
            config,
            key=key,
            object_id=object_id,
            reserved=self._reserved,
            discovery_prefix=self._prefix,
        )

    def _on_device_config(self, device_key: str, raw: dict[str, object] | None) -> None:
        prefix = f"discovery:{device_key}/"
        if raw is None:
            for key in [k for k in self._installed if k.startswith(prefix)]:
                self._remove(key)
            self._reconcile_z2m()
            return
        object_id = device_key.rsplit("/", 1)[-1]
        parsed: list[Discovered] = []
        for sub_key, config in discovery_schema.split_device_components(raw).items():
            component = sub_key.split("/", 1)[0]
            if not config:
                self._remove(prefix + sub_key)
                continue
            if component not in COMPONENTS:
                if component not in _OTHER_HA_COMPONENTS:
                    log.warning(
                        "discovery %s: skipped: unknown component %r", device_key, component
                    )
                continue
            sub_id = f"{object_id}_{sub_key.split('/', 1)[1]}"
            parsed.append(self._parse(component, config, prefix + sub_key, sub_id))
        for d in parsed:
            self._install(d)
        self._reconcile_z2m()

    # --- zigbee2mqtt -------------------------------------------------------
    def _on_z2m(self, message: Incoming) -> None:
        self._last_config = time.monotonic()
        try:
            found = zigbee2mqtt.parse_devices(self._z2m_base, message.payload, self._reserved)
        except InvalidConfig as exc:
            log.warning("zigbee2mqtt %s: skipped: %s", message.topic, exc)
            return
        self._z2m_all = {f"z2m:{d.key}": d for d in found}
        for key in [k for k in self._installed if k.startswith("z2m:")]:
            if key not in self._z2m_all:
                self._remove(key)
        self._reconcile_z2m()

    def _reconcile_z2m(self) -> None:
        if not self._z2m_all:
            return
        covered: set[str] = set()
        for key, installed in self._installed.items():
            if key.startswith("discovery:"):
                covered.update(installed.d.identifiers)
        for key, d in self._z2m_all.items():
            duplicate = f"zigbee2mqtt_{zigbee2mqtt.ieee_of(d)}" in covered
            current = self._installed.get(key)
            if duplicate:
                if current is not None:
                    self._remove(key)
            elif current is None or current.d != d:
                self._install(d)

    # --- the registry ------------------------------------------------------
    def _unique_id(self, d: Discovered, key: str) -> str:
        wanted = d.entity.entity_id
        candidate, n = wanted, 2
        while self._by_entity.get(candidate, key) != key:
            candidate = f"{wanted}_{n}"
            n += 1
        return candidate

    def _install(self, d: Discovered) -> None:
        key = f"z2m:{d.key}" if d.entity.source == "zigbee2mqtt" else d.key
        if d.entity.source == "config":
            key = f"config:{d.key}"
        previous = self._installed.get(key)
        entity_id = self._unique_id(d, key)
        if entity_id != d.entity.entity_id:
            d = replace(d, entity=replace(d.entity, entity_id=entity_id))
        d = configured.apply_overrides(d, self.settings.entities)
        verdict = self._claims.judge(d, key)
        if verdict.refused is not None:
            log.warning("%s", verdict.refused)
            self._remove(key, quiet=True)
            return
        for held in verdict.evict:
            log.warning(
                "%s (%s) removed: sensitive %s (%s) has the same command topic",
                held.entity_id, held.key, d.entity.entity_id, key,
            )  # fmt: skip
            self._remove(held.key, quiet=True)
        if previous is not None:
            self._detach(key, previous, keep_entity=True)
        if previous is not None and previous.d.entity.entity_id != entity_id:
            self.registry.remove(previous.d.entity.entity_id)
            self._by_entity.pop(previous.d.entity.entity_id, None)
        installed = _Installed(d)
        self._installed[key] = installed
        self._by_entity[entity_id] = key
        known = previous is not None and previous.d.entity.entity_id == entity_id
        initial = None if known else EntityState(available=not d.availability)
        self.registry.upsert(d.entity, initial)
        self._claims.take(d, key)
        topics = set(topics_of(d)) | {a.topic for a in d.availability}
        handler = self._state_handler(key, entity_id)
        for topic in sorted(topics):
            try:
                unsubscribe = self.connection.subscribe(topic, handler, self._rejected(key))
            except InvalidTopic as exc:
                self._rejected(key)(topic, str(exc))
                return
            installed.unsubscribe.append(unsubscribe)

    def _rejected(self, key: str) -> Callable[[str, str], None]:
        def disable(topic: str, reason: str) -> None:
            installed = self._installed.get(key)
            if installed is None:
                return
            log.warning(
                "%s (%s) disabled: its topic %r cannot be subscribed: %s",
                installed.d.entity.entity_id, key, topic[:200], reason,
            )  # fmt: skip
            self._remove(key, quiet=True)

        return disable

    def _detach(self, key: str, installed: _Installed, *, keep_entity: bool) -> None:
        for unsubscribe in installed.unsubscribe:
            unsubscribe()
        installed.unsubscribe.clear()
        if not keep_entity:
            self._claims.release(key)
            self._installed.pop(key, None)
            entity_id = installed.d.entity.entity_id
            if self._by_entity.get(entity_id) == key:
                del self._by_entity[entity_id]
                self.registry.remove(entity_id)

    def _remove(self, key: str, *, quiet: bool = False) -> None:
        installed = self._installed.get(key)
        if installed is not None:
            self._detach(key, installed, keep_entity=False)
            if not quiet:
                log.info("removed %s (%s)", installed.d.entity.entity_id, key)

    def _state_handler(self, key: str, entity_id: str) -> Callable[[Incoming], None]:
        def handle(message: Incoming) -> None:
            installed = self._installed.get(key)
            if installed is None or installed.d.entity.entity_id != entity_id:
                return
            self._apply_state(installed, message)

        return handle

    def _apply_state(self, installed: _Installed, message: Incoming) -> None:
        d = installed.d
        if len(message.payload) > MAX_STATE_BYTES:
            log.warning("%s: state on %s ignored: over %d bytes",
                        d.entity.entity_id, message.topic, MAX_STATE_BYTES)  # fmt: skip
            return
        text = message.payload.decode("utf-8", errors="replace")
        available: bool | None = None
        try:
            verdict = availability_update(d, message.topic, text)
            if verdict is not None:
                installed.availability[message.topic] = verdict
                available = combine_availability(
                    d.availability_mode, self._availability_values(installed), verdict
                )
            update = interpret(d, message.topic, text)
        except TemplateFailed as exc:
            log.warning("%s: state on %s ignored: %s", d.entity.entity_id, message.topic, exc)
            return
        if update.state is None and not update.attributes and available is None:
            return
        self.registry.set_state(
            d.entity.entity_id, update.state, dict(update.attributes) or None, available
        )
        entity_id = d.entity.entity_id
        self.confirmations.heard(entity_id, self.registry.state(entity_id), retained=message.retain)

    @staticmethod
    def _availability_values(installed: _Installed) -> dict[str, bool]:
        # Topics not heard from yet count as unavailable for mode "all".
        return {
            a.topic: installed.availability.get(a.topic, False) for a in installed.d.availability
        }


def _is_an_assistant(raw: dict[str, object] | None) -> bool:
    """A device config published by an assistant (integrations.ha_device)."""
    origin = raw.get("o") if raw else None
    return isinstance(origin, dict) and origin.get("name") == ORIGIN_NAME
