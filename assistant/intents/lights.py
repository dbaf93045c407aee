"""HassLightSet: brightness, colour and colour temperature."""

from __future__ import annotations

from assistant.devices.actions import ActionName, ActionParams
from assistant.devices.vocabulary import COLORS
from assistant.intents._slots import AREA, FLOOR, NAME
from assistant.understanding.calls import SlotSpec
from assistant.understanding.handlers import IntentContext, IntentError, intent_handler


@intent_handler(
    "HassLightSet",
    "Set the brightness (percent), colour or colour temperature (kelvin) of lights",
    slots=(
        NAME,
        AREA,
        FLOOR,
        SlotSpec("brightness", "number", minimum=0, maximum=100, description="percent"),
        SlotSpec("color", "color", choices=COLORS, description="colour name"),
        SlotSpec("temperature", "number", minimum=1000, maximum=10000, description="kelvin"),
    ),
)
async def light_set(ctx: IntentContext) -> str | None:
    """Set brightness, colour or colour temperature on every matching light."""
    lights = ctx.targets(domains=("light",))
    action: ActionName
    params: ActionParams = {}
    if ctx.slots.get("brightness") is not None:
        action = "set_brightness"
        params["brightness"] = int(ctx.slots["brightness"])
        ctx.response = ctx.response or "brightness"
    elif ctx.slots.get("color") is not None:
        action = "set_color"
        params["color"] = str(ctx.slots["color"])
        ctx.response = ctx.response or "color"
    elif ctx.slots.get("temperature") is not None:
        action = "set_color"
        params["color_temp_kelvin"] = int(ctx.slots["temperature"])
        ctx.response = ctx.response or "temperature"
    else:
        raise IntentError("Set it to what?")
    feature = {"brightness": "brightness", "color": "color"}.get(next(iter(params)), "color_temp")
    lights = ctx.supporting(lights, feature)
    await ctx.execute_all(lights, lambda _e: action, **params)
    return None
