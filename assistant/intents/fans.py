"""HassFanSetSpeed."""

from __future__ import annotations

from assistant.intents._slots import AREA, FLOOR, NAME
from assistant.understanding.calls import SlotSpec
from assistant.understanding.handlers import IntentContext, intent_handler


@intent_handler(
    "HassFanSetSpeed",
    "Set fan speed in percent",
    slots=(
        NAME,
        AREA,
        FLOOR,
        SlotSpec("percentage", "number", required=True, minimum=0, maximum=100),
    ),
)
async def fan_set_speed(ctx: IntentContext) -> str | None:
    """Set the speed of every matching fan."""
    fans = ctx.targets(domains=("fan",))
    percentage = int(ctx.slots["percentage"])
    await ctx.execute_all(fans, lambda _e: "set_fan_speed", percentage=percentage)
    return None
