"""The live registry: every entity the assistant knows, its state, and listeners.

Sources (discovery, Zigbee2MQTT, config devices, Home Assistant) write into
it; understanding reads from it and is told when the set of names changes so
that slot lists and grammars are rebuilt.  It is plain synchronous data
owned by the event loop: no locks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from assistant.devices.entities import Entity, EntityState

Listener = Callable[[], None]


class Registry:
    """Entities by id, their last state, areas and floors."""

    def __init__(self) -> None:
        self._entities: dict[str, Entity] = {}
        self._states: dict[str, EntityState] = {}
        self._floors: dict[str, str] = {}  # area name -> floor name
        self._listeners: list[Listener] = []
        self._state_listeners: list[Callable[[str, EntityState], None]] = []
        self.revision = 0

    # --- reading -----------------------------------------------------------
    def entities(self) -> list[Entity]:
        """All entities, in a stable order."""
        return sorted(self._entities.values(), key=lambda e: e.entity_id)

    def get(self, entity_id: str) -> Entity | None:
        """One entity by id."""
        return self._entities.get(entity_id)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._entities

    def __len__(self) -> int:
        return len(self._entities)

    def state(self, entity_id: str) -> EntityState:
        """Last known state (state None when never seen)."""
        return self._states.get(entity_id, EntityState())

    def areas(self) -> list[str]:
        """Every area named by an entity or given a floor."""
        names = {e.area for e in self._entities.values() if e.area}
        return sorted(names | set(self._floors))

    def floors(self) -> list[str]:
        """Every floor."""
        names = {e.floor for e in self._entities.values() if e.floor}
        return sorted(names | set(self._floors.values()))

    def floor_of(self, area: str) -> str | None:
        """The floor an area is on, if known."""
        return self._floors.get(area)

    # --- writing -----------------------------------------------------------
    def set_floor(self, area: str, floor: str) -> None:
        """Place an area on a floor."""
        if self._floors.get(area) != floor:
            self._floors[area] = floor
            self._changed()

    def upsert(self, entity: Entity, state: EntityState | None = None) -> None:
        """Add or replace an entity; listeners hear of it only if it changed."""
        if entity.floor is None and entity.area and entity.area in self._floors:
            entity = replace(entity, floor=self._floors[entity.area])
        previous = self._entities.get(entity.entity_id)
        self._entities[entity.entity_id] = entity
        if state is not None:
            self._states[entity.entity_id] = state
        if previous != entity:
            self._changed()

    def remove(self, entity_id: str) -> bool:
        """Forget an entity; True if it was known."""
        if self._entities.pop(entity_id, None) is None:
            return False
        self._states.pop(entity_id, None)
        self._changed()
        return True

    def set_state(
        self,
        entity_id: str,
        state: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        available: bool | None = None,
    ) -> None:
        """Update the state of an entity; None arguments keep what was there."""
        old = self._states.get(entity_id, EntityState())
        merged = dict(old.attributes)
        if attributes:
            merged.update(attributes)
        new = EntityState(
            state=old.state if state is None else state,
            attributes=merged,
            available=old.available if available is None else available,
        )
        self._states[entity_id] = new
        for listener in list(self._state_listeners):
            listener(entity_id, new)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener()` whenever the set of entities changes; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def add_state_listener(
        self, listener: Callable[[str, EntityState], None]
    ) -> Callable[[], None]:
        """Call `listener(entity_id, state)` on every state update; returns an unsubscribe."""
        self._state_listeners.append(listener)
        return lambda: self._state_listeners.remove(listener)

    def extend(self, entities: Iterable[Entity]) -> None:
        """Upsert many entities."""
        for entity in entities:
            self.upsert(entity)

    def _changed(self) -> None:
        self.revision += 1
        for listener in list(self._listeners):
            listener()
