"""HassGetCurrentTime, HassGetCurrentDate and HassNevermind."""

from __future__ import annotations

from assistant.understanding.handlers import IntentContext, intent_handler


@intent_handler("HassGetCurrentTime", "Tell the time")
async def current_time(ctx: IntentContext) -> str | None:
    """The time, through the package's response template."""
    ctx.speech_slots["time"] = ctx.now().time()
    return None


@intent_handler("HassGetCurrentDate", "Tell the date")
async def current_date(ctx: IntentContext) -> str | None:
    """The date, through the package's response template."""
    ctx.speech_slots["date"] = ctx.now().date()
    return None


@intent_handler("HassNevermind", "Do nothing: the user changed their mind")
async def nevermind(ctx: IntentContext) -> str | None:
    """Do nothing, say nothing."""
    ctx.conversation.pending = None
    return ""
