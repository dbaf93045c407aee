"""HassVacuumStart and HassVacuumReturnToBase."""

from __future__ import annotations

from assistant.intents._slots import AREA, FLOOR, NAME
from assistant.understanding.handlers import IntentContext, intent_handler


@intent_handler("HassVacuumStart", "Start vacuum cleaners", slots=(NAME, AREA, FLOOR))
async def vacuum_start(ctx: IntentContext) -> str | None:
    """Start every matching vacuum."""
    await ctx.execute_all(ctx.targets(domains=("vacuum",)), lambda _e: "start")
    return None


@intent_handler(
    "HassVacuumReturnToBase", "Send vacuum cleaners back to their dock", slots=(NAME, AREA)
)
async def vacuum_return(ctx: IntentContext) -> str | None:
    """Send every matching vacuum home."""
    await ctx.execute_all(ctx.targets(domains=("vacuum",)), lambda _e: "return_to_base")
    return None
