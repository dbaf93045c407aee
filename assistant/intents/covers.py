"""HassSetPosition for covers and valves."""

from __future__ import annotations

from assistant.intents._slots import DEVICE_CLASS, TARGET
from assistant.understanding.calls import SlotSpec
from assistant.understanding.handlers import IntentContext, intent_handler


@intent_handler(
    "HassSetPosition",
    "Set how far covers (blinds, curtains, garage doors) or valves are open, in percent",
    slots=(
        *TARGET,
        DEVICE_CLASS,
        SlotSpec("position", "number", required=True, minimum=0, maximum=100),
    ),
)
async def set_position(ctx: IntentContext) -> str | None:
    """Move every matching cover or valve to a position."""
    entities = ctx.supporting(ctx.targets(domains=("cover", "valve")), "position")
    position = int(ctx.slots["position"])
    await ctx.execute_all(entities, lambda _e: "set_position", position=position)
    return None
