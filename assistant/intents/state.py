"""HassGetState: "is the garage door open?", "which lights are on?"."""

from __future__ import annotations

from assistant.devices.entities import Entity
from assistant.intents._slots import DEVICE_CLASS, TARGET
from assistant.understanding.calls import SlotSpec
from assistant.understanding.handlers import IntentContext, intent_handler

# Binary sensors report on/off; sentences ask "open", "detected", "wet"...
_BINARY_ON = frozenset(
    {
        "on",
        "open",
        "detected",
        "wet",
        "unlocked",
        "home",
        "connected",
        "running",
        "charging",
        "plugged in",
        "powered",
        "hot",
        "cold",
        "low",
        "problem",
        "unsafe",
        "moving",
        "occupied",
    }
)
_ALIASES = {"closed": ("closed", "off"), "shut": ("closed", "off"), "opened": ("open", "on")}


def _has_state(ctx: IntentContext, entity: Entity, wanted: str) -> bool:
    current = (ctx.registry.state(entity.entity_id).state or "").casefold()
    want = wanted.casefold()
    if current == want or current in _ALIASES.get(want, ()):
        return True
    if entity.domain == "binary_sensor":
        return current == ("on" if want in _BINARY_ON else "off")
    if entity.domain in ("cover", "valve") and want == "open":
        return current in ("open", "opening")
    return False


@intent_handler(
    "HassGetState",
    "Ask the state of devices: is something on/open/locked, which ones are, how many",
    slots=(*TARGET, DEVICE_CLASS, SlotSpec("state", "text", description="on, off, open...")),
)
async def get_state(ctx: IntentContext) -> str | None:
    """Split the targets into those in the asked state and the others."""
    entities = ctx.targets()
    wanted = ctx.slots.get("state")
    if wanted is None:
        ctx.matched.extend(entities)
        return None
    for entity in entities:
        (ctx.matched if _has_state(ctx, entity, str(wanted)) else ctx.unmatched).append(entity)
    return None
