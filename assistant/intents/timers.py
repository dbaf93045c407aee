"""Timer intents: start, cancel, cancel all, pause, unpause, status, add and remove time.

Timers run inside the assistant (assistant.understanding.timers) and are
announced through the pipeline's callback when they end; a timer with a
command ("turn off the lights in 5 minutes") runs the command instead.
"""

from __future__ import annotations

from typing import Any

from assistant.intents._slots import AREA
from assistant.understanding.calls import SlotSpec
from assistant.understanding.handlers import IntentContext, IntentError, intent_handler
from assistant.understanding.timers import Timer, TimerManager

_H = SlotSpec("hours", "number", minimum=0, maximum=100)
_M = SlotSpec("minutes", "number", minimum=0, maximum=100)
_S = SlotSpec("seconds", "number", minimum=0, maximum=100)
_NAME = SlotSpec("name", "text", description="timer name")
_START = (
    SlotSpec("start_hours", "number", minimum=0, maximum=100),
    SlotSpec("start_minutes", "number", minimum=0, maximum=100),
    SlotSpec("start_seconds", "number", minimum=0, maximum=100),
)
_WHICH = (_NAME, AREA, *_START)


def _int(value: Any) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, str) and value.strip() in ("half", "1/2"):
        return 30
    return int(float(value))


def _hms(slots: dict[str, Any], prefix: str = "") -> tuple[int, int, int]:
    return (
        _int(slots.get(f"{prefix}hours")),
        _int(slots.get(f"{prefix}minutes")),
        _int(slots.get(f"{prefix}seconds")),
    )


def _seconds(hms: tuple[int, int, int]) -> int:
    return hms[0] * 3600 + hms[1] * 60 + hms[2]


def _manager(ctx: IntentContext) -> TimerManager:
    if ctx.timers is None:
        raise IntentError(ctx.error_text("no_timer_support"))
    return ctx.timers


def _one(ctx: IntentContext) -> Timer:
    found = _matching(ctx)
    if not found:
        raise IntentError(ctx.error_text("timer_not_found"))
    if len(found) > 1:
        raise IntentError(ctx.error_text("multiple_timers_matched"))
    return found[0]


def _matching(ctx: IntentContext) -> list[Timer]:
    manager = _manager(ctx)
    name = ctx.slots.get("name")
    area = ctx.slots.get("area")
    found = manager.find(str(name).strip() if name else None, str(area) if area else None)
    start = _hms(ctx.slots, "start_")
    if any(start):
        found = [t for t in found if (t.start_hours, t.start_minutes, t.start_seconds) == start]
    if not (name or area or any(start)) and len(found) > 1:
        # "pause the timer" with several: the most recent one, as a person would mean.
        return found[-1:]
    return found


@intent_handler(
    "HassStartTimer",
    "Start a timer (optionally named), or run a command after a delay",
    slots=(_H, _M, _S, _NAME, SlotSpec("conversation_command", "text")),
)
async def start_timer(ctx: IntentContext) -> str | None:
    """Start a timer; with a command, the command runs when it ends."""
    hms = _hms(ctx.slots)
    seconds = _seconds(hms)
    if seconds <= 0:
        raise IntentError("For how long?")
    name = ctx.slots.get("name")
    command = ctx.slots.get("conversation_command")
    _manager(ctx).start(
        seconds,
        name=str(name).strip() if name else None,
        area=ctx.area,
        command=str(command).strip() if command else None,
        hms=hms,
    )
    return None


@intent_handler("HassCancelTimer", "Cancel a timer", slots=(_NAME,))
async def cancel_timer(ctx: IntentContext) -> str | None:
    """Cancel one timer."""
    _manager(ctx).cancel(_one(ctx))
    return None


@intent_handler("HassCancelAllTimers", "Cancel every timer", slots=(AREA,), llm=False)
async def cancel_all(ctx: IntentContext) -> str | None:
    """Cancel every timer (in an area, if one was named)."""
    manager = _manager(ctx)
    area = ctx.slots.get("area")
    found = manager.find(area=str(area)) if area else manager.timers()
    for timer in found:
        manager.cancel(timer)
    ctx.speech_slots["canceled"] = len(found)
    return None


@intent_handler("HassPauseTimer", "Pause a timer", slots=_WHICH, llm=False)
async def pause_timer(ctx: IntentContext) -> str | None:
    """Pause one timer."""
    _manager(ctx).pause(_one(ctx))
    return None


@intent_handler("HassUnpauseTimer", "Resume a paused timer", slots=_WHICH, llm=False)
async def unpause_timer(ctx: IntentContext) -> str | None:
    """Resume one timer."""
    _manager(ctx).unpause(_one(ctx))
    return None


@intent_handler("HassTimerStatus", "How much time is left", slots=_WHICH, llm=False)
async def timer_status(ctx: IntentContext) -> str | None:
    """Report the matching timers (all when none is named)."""
    found = _matching(ctx) if any(ctx.slots.get(k) for k in ("name", "area")) else None
    timers = found if found is not None else _manager(ctx).timers()
    ctx.speech_slots["timers"] = [t.to_slots() for t in timers]
    return None


async def _change(ctx: IntentContext, sign: int) -> str | None:
    timer = _one(ctx)
    seconds = _seconds(_hms(ctx.slots))
    if seconds <= 0:
        raise IntentError("By how much?")
    _manager(ctx).add(timer, sign * seconds)
    return None


@intent_handler("HassIncreaseTimer", "Add time to a timer", slots=(_H, _M, _S, *_WHICH), llm=False)
async def increase_timer(ctx: IntentContext) -> str | None:
    """Add time to one timer."""
    return await _change(ctx, +1)


@intent_handler(
    "HassDecreaseTimer", "Remove time from a timer", slots=(_H, _M, _S, *_WHICH), llm=False
)
async def decrease_timer(ctx: IntentContext) -> str | None:
    """Remove time from one timer."""
    return await _change(ctx, -1)
