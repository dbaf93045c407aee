"""Which actions need a "yes" first, and how long the "yes" may take.

By what a device is (its domain and device class: devices/vocabulary.py),
never by what it is called: a lock named "Porch Light" still asks before it
unlocks.  The owner may mark more entities sensitive in the config (or the
discovery config may); marking a lock *not* sensitive does not take its
question away.  Actions that make things safer (lock, close, turn off) never ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.devices.entities import Entity
from assistant.devices.vocabulary import SAFE_ACTIONS, is_sensitive_action

__all__ = ["SensitivityPolicy"]


@dataclass(frozen=True)
class SensitivityPolicy:
    """The confirmation rules of one home."""

    confirm_seconds: float = 10.0
    entity_confirm_seconds: Mapping[str, float] = field(default_factory=dict)
    entity_sensitive: Mapping[str, bool] = field(default_factory=dict)

    def is_sensitive(self, entity: Entity, action: str) -> bool:
        """Unlocking, opening garage doors, gates and gas valves, and entities marked so."""
        if is_sensitive_action(entity.domain, entity.device_class, action):
            return True
        marked = self.entity_sensitive.get(entity.entity_id, entity.sensitive)
        return marked and action not in SAFE_ACTIONS

    def confirm_window(self, entity: Entity) -> float:
        """Seconds to answer "Are you sure?" for this entity."""
        return self.entity_confirm_seconds.get(entity.entity_id, self.confirm_seconds)
