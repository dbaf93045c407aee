"""HassTurnOn / HassTurnOff for lights, switches, fans, covers, locks, valves, scenes."""

from __future__ import annotations

from assistant.devices.actions import ActionName
from assistant.devices.entities import Entity
from assistant.intents._slots import DEVICE_CLASS, TARGET
from assistant.understanding.handlers import IntentContext, IntentError, intent_handler

_ON: dict[str, ActionName] = {
    "light": "turn_on",
    "switch": "turn_on",
    "fan": "turn_on",
    "climate": "turn_on",
    "cover": "open",
    "valve": "open",
    "lock": "lock",
    "scene": "activate",
    "button": "press",
    "vacuum": "start",
}
_OFF: dict[str, ActionName] = {
    "light": "turn_off",
    "switch": "turn_off",
    "fan": "turn_off",
    "climate": "turn_off",
    "cover": "close",
    "valve": "close",
    "lock": "unlock",
    "vacuum": "return_to_base",
}


async def _switch(ctx: IntentContext, verbs: dict[str, ActionName]) -> str | None:
    entities = ctx.targets(domains=tuple(verbs))

    def verb(entity: Entity) -> ActionName | None:
        return verbs.get(entity.domain)

    if not any(verb(e) for e in entities):
        raise IntentError(ctx.error_text("feature_not_supported"))
    await ctx.execute_all(entities, verb)
    return None


@intent_handler(
    "HassTurnOn",
    "Turn on, open, lock or activate devices by name, or every device of a kind in an area",
    slots=(*TARGET, DEVICE_CLASS),
)
async def turn_on(ctx: IntentContext) -> str | None:
    """Turn on / open / lock / activate every matching entity."""
    return await _switch(ctx, _ON)


@intent_handler(
    "HassTurnOff",
    "Turn off, close or unlock devices by name, or every device of a kind in an area",
    slots=(*TARGET, DEVICE_CLASS),
)
async def turn_off(ctx: IntentContext) -> str | None:
    """Turn off / close / unlock every matching entity."""
    return await _switch(ctx, _OFF)
