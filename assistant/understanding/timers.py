"""Timers that run inside the assistant as asyncio tasks and announce when done."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.understanding.origin import REQUESTING, Origin

log = logging.getLogger(__name__)

OnFinish = Callable[["Timer"], Awaitable[None]]


@dataclass
class Timer:
    """One timer; `remaining()` counts down only while active."""

    id: int
    seconds: float
    name: str | None = None
    area: str | None = None
    command: str | None = None  # "turn off the lights in 5 minutes"
    start_hours: int = 0
    start_minutes: int = 0
    start_seconds: int = 0
    is_active: bool = True
    origin: Origin | None = None  # who set it (None: not set by a request)
    _left: float = 0.0
    _since: float = field(default_factory=time.monotonic)
    _task: asyncio.Task[None] | None = None

    def remaining(self) -> float:
        """Seconds left."""
        if not self.is_active:
            return max(self._left, 0.0)
        return max(self._left - (time.monotonic() - self._since), 0.0)

    def to_slots(self) -> dict[str, Any]:
        """What Home Assistant's timer response templates read."""
        left = round(self.remaining())
        hours, rest = divmod(left, 3600)
        minutes, seconds = divmod(rest, 60)
        return {
            "id": self.id,
            "name": self.name,
            "area": self.area,
            "is_active": self.is_active,
            "start_hours": self.start_hours,
            "start_minutes": self.start_minutes,
            "start_seconds": self.start_seconds,
            "total_seconds_left": left,
            "rounded_hours_left": hours,
            "rounded_minutes_left": minutes,
            "rounded_seconds_left": seconds,
        }


class TimerManager:
    """All running timers; `on_finish` is called (on the loop) when one ends."""

    def __init__(self, on_finish: OnFinish | None = None) -> None:
        self._timers: dict[int, Timer] = {}
        self._ids = itertools.count(1)
        self.on_finish = on_finish

    def timers(self) -> list[Timer]:
        """Every timer, oldest first."""
        return list(self._timers.values())

    def start(
        self,
        seconds: float,
        *,
        name: str | None = None,
        area: str | None = None,
        command: str | None = None,
        hms: tuple[int, int, int] = (0, 0, 0),
    ) -> Timer:
        """Start a timer now."""
        timer = Timer(
            id=next(self._ids),
            seconds=seconds,
            name=name,
            area=area,
            command=command,
            start_hours=hms[0],
            start_minutes=hms[1],
            start_seconds=hms[2],
            origin=REQUESTING.get(),
            _left=seconds,
        )
        self._timers[timer.id] = timer
        self._schedule(timer)
        return timer

    def _schedule(self, timer: Timer) -> None:
        timer._since = time.monotonic()
        timer._task = asyncio.get_running_loop().create_task(
            self._run(timer), name=f"timer-{timer.id}"
        )

    async def _run(self, timer: Timer) -> None:
        await asyncio.sleep(timer.remaining())
        self._timers.pop(timer.id, None)
        if self.on_finish is not None:
            try:
                await self.on_finish(timer)
            except Exception:  # a failing announcement must not kill other timers
                log.exception("timer %s: announcing its end failed", timer.id)

    def find(self, name: str | None = None, area: str | None = None) -> list[Timer]:
        """Timers by name and/or area (all when neither is given)."""
        found = self.timers()
        if name:
            found = [t for t in found if (t.name or "").casefold() == name.casefold()]
        if area:
            found = [t for t in found if (t.area or "").casefold() == area.casefold()]
        return found

    def cancel(self, timer: Timer) -> None:
        """Stop and forget a timer."""
        if timer._task is not None:
            timer._task.cancel()
        self._timers.pop(timer.id, None)

    def cancel_all(self) -> int:
        """Stop every timer; how many there were."""
        count = len(self._timers)
        for timer in self.timers():
            self.cancel(timer)
        return count

    def pause(self, timer: Timer) -> None:
        """Freeze a timer's countdown."""
        if timer.is_active:
            timer._left = timer.remaining()
            timer.is_active = False
            if timer._task is not None:
                timer._task.cancel()

    def unpause(self, timer: Timer) -> None:
        """Resume a paused timer."""
        if not timer.is_active:
            timer.is_active = True
            self._schedule(timer)

    def add(self, timer: Timer, seconds: float) -> None:
        """Add (or with a negative value, remove) time."""
        left = max(timer.remaining() + seconds, 0.0)
        if timer._task is not None:
            timer._task.cancel()
        timer._left = left
        if timer.is_active:
            self._schedule(timer)
