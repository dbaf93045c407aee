"""`HomeAssistantBackend`: the registry from a Home Assistant server, actions as services.

An alternative to MQTT, chosen with ``[homeassistant] enabled = true``:

- entities and states from ``GET /api/states``;
- areas and floors: HA's REST API has no area endpoint, so one template is
  rendered with HA's ``areas()``, ``area_name()``, ``area_entities()``,
  ``floor_id()`` and ``floor_name()`` helpers;
- actions: the service call ``services.service_call`` maps them to; the
  states HA reports as changed go into the registry;
- REST has no push, so ``watch()`` refreshes periodically.

Every failure becomes one ``UserError`` line; the caller logs it and carries on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.config import EntityOverride, HomeAssistantConfig
from assistant.devices.actions import ActionName, ActionParams
from assistant.devices.entities import Action, Entity, EntityState
from assistant.devices.homeassistant.services import entity_from_state, entity_state, service_call
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.transports.homeassistant import HomeAssistantClient

if TYPE_CHECKING:
    from typing_extensions import Unpack

log = logging.getLogger("assistant.homeassistant")

# One line of JSON per area: id, name, floor and the entities in it.
AREAS_TEMPLATE = (
    "{% for a in areas() %}{% set f = floor_id(a) %}"
    '{{ {"id": a, "name": area_name(a), "floor": floor_name(f) if f else none,'
    ' "entities": area_entities(a)} | tojson }}\n{% endfor %}'
)
# Home Assistant before 2024.4 has no floors.
AREAS_TEMPLATE_NO_FLOORS = (
    "{% for a in areas() %}"
    '{{ {"id": a, "name": area_name(a), "floor": none, "entities": area_entities(a)} | tojson }}'
    "\n{% endfor %}"
)
SOURCE = "home assistant"


class HomeAssistantBackend:
    """Fills a Registry from Home Assistant and executes actions as service calls."""

    def __init__(
        self,
        config: HomeAssistantConfig,
        registry: Registry,
        overrides: Mapping[str, EntityOverride] | None = None,
    ) -> None:
        self.client = HomeAssistantClient(config)
        self.registry = registry
        self.overrides = dict(overrides or {})

    async def __aenter__(self) -> HomeAssistantBackend:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the session and check the API answers (UserError if not)."""
        await self.client.connect()

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.client.close()

    async def refresh(self) -> int:
        """Read areas and states into the registry; returns the number of entities."""
        areas = await self._areas()
        states = await self.client.states()
        seen: set[str] = set()
        for raw in states:
            entity = entity_from_state(raw, areas)
            if entity is None:
                continue
            entity = self._override(entity)
            seen.add(entity.entity_id)
            new = entity_state(raw)
            old = (
                self.registry.state(entity.entity_id) if entity.entity_id in self.registry else None
            )
            # upsert replaces the attributes wholesale; set_state tells the state listeners.
            self.registry.upsert(entity, new)
            if old is not None and old != new:
                self.registry.set_state(entity.entity_id, new.state, None, new.available)
        for entity in self.registry.entities():
            if entity.source == SOURCE and entity.entity_id not in seen:
                self.registry.remove(entity.entity_id)
        for area_name, floor in {v for v in areas.values() if v[1]}:
            self.registry.set_floor(area_name, floor)  # type: ignore[arg-type]
        return len(seen)

    async def execute(
        self, entity_id: str, action: ActionName, **params: Unpack[ActionParams]
    ) -> Action:
        """Call the service for `action` on `entity_id`; return what was sent."""
        entity = self.registry.get(entity_id)
        if entity is None:
            raise UserError(f"Home Assistant has no entity {entity_id}")
        domain, service, body = service_call(entity, action, params)
        for raw in await self.client.call_service(domain, service, body):
            if raw.get("entity_id") in self.registry:
                new = entity_state(raw)
                self.registry.set_state(raw["entity_id"], new.state, new.attributes, new.available)
        return Action(
            entity_id=entity_id,
            action=action,
            params=dict(params),
            topic=f"/api/services/{domain}/{service}",
            payload=json.dumps(body),
        )

    async def read_state(self, entity_id: str) -> EntityState:
        """Fetch one state now (UserError if HA does not know the entity)."""
        new = entity_state(await self.client.state(entity_id))
        if entity_id in self.registry:
            self.registry.set_state(entity_id, new.state, new.attributes, new.available)
        return new

    async def watch(self, interval: float = 10.0) -> None:
        """Refresh every `interval` seconds until cancelled (REST has no push).

        A failure is logged once when it starts and once when it ends; the
        registry keeps its last known entities meanwhile.
        """
        failing = False
        while True:
            await asyncio.sleep(interval)
            try:
                if not self.client.connected:
                    await self.connect()
                count = await self.refresh()
            except UserError as error:
                if not failing:
                    log.warning("%s; retrying every %.0f s", error, interval)
                failing = True
                continue
            if failing:
                log.warning("Home Assistant is back: %d entities", count)
            failing = False

    # --- internals ---------------------------------------------------------
    def _override(self, entity: Entity) -> Entity:
        extra = self.overrides.get(entity.entity_id)
        if extra is None:
            return entity
        return replace(
            entity,
            aliases=tuple(dict.fromkeys(entity.aliases + extra.aliases)),
            area=extra.area or entity.area,
            sensitive=entity.sensitive if extra.sensitive is None else extra.sensitive,
        )

    async def _areas(self) -> dict[str, tuple[str, str | None]]:
        """entity id -> (area name, floor name)."""
        try:
            text = await self.client.render("read areas", AREAS_TEMPLATE)
        except UserError as error:
            if "template" not in str(error):
                raise
            text = await self.client.render("read areas", AREAS_TEMPLATE_NO_FLOORS)
        out: dict[str, tuple[str, str | None]] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                area = json.loads(line)
                for entity_id in area["entities"]:
                    out[str(entity_id)] = (str(area["name"]), area.get("floor"))
            except (json.JSONDecodeError, KeyError, TypeError):
                log.warning("Home Assistant: ignored an area line: %.80r", line)
        return out
