"""An executor that records instead of sending: for `intents test` and unit tests."""

from __future__ import annotations

from typing import Any

from assistant.devices.entities import ACTIONS, Action
from assistant.devices.registry import Registry
from assistant.errors import UserError


class RecordingExecutor:
    """Checks each call against the registry, records it, and sends nothing."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry
        self.actions: list[Action] = []

    async def execute(self, entity_id: str, action: str, **params: Any) -> Action:
        """Record one command (UserError for an unknown entity or verb)."""
        if action not in ACTIONS:
            raise UserError(f"unknown action '{action}'")
        if self.registry is not None and entity_id not in self.registry:
            raise UserError(f"unknown entity '{entity_id}'")
        done = Action(entity_id=entity_id, action=action, params=dict(params))
        self.actions.append(done)
        return done
