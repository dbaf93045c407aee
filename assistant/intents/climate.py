"""HassClimateSetTemperature and HassClimateGetTemperature."""

from __future__ import annotations

from assistant.intents._slots import AREA, FLOOR, NAME
from assistant.understanding.calls import SlotSpec
from assistant.understanding.handlers import IntentContext, intent_handler


@intent_handler(
    "HassClimateSetTemperature",
    "Set the target temperature of a thermostat",
    slots=(
        NAME,
        AREA,
        FLOOR,
        SlotSpec("temperature", "number", required=True, minimum=0, maximum=100),
    ),
)
async def set_temperature(ctx: IntentContext) -> str | None:
    """Set the target temperature on every matching thermostat."""
    thermostats = ctx.targets(domains=("climate",))
    value = float(ctx.slots["temperature"])
    temperature = int(value) if value.is_integer() else value
    await ctx.execute_all(thermostats, lambda _e: "set_temperature", temperature=temperature)
    return None


@intent_handler(
    "HassClimateGetTemperature",
    "Ask the current temperature a thermostat measures",
    slots=(NAME, AREA, FLOOR),
)
async def get_temperature(ctx: IntentContext) -> str | None:
    """Report the current temperature of the first matching thermostat."""
    thermostats = ctx.targets(domains=("climate",))
    ctx.matched.extend(thermostats[:1])
    return None
