"""Have the fallback prepare its prompt before a sentence needs it.

Evaluating the LLM's prompt prefix takes seconds on a small CPU.  It is done
once at start (`start`) and again when the home's names have been quiet for a
moment (`WARM_UP_DELAY`), not on the next spoken sentence.  With a
`Foreground` it is background work: idle priority, and paused while an
utterance is handled (assistant/cpu/foreground.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence

from assistant.cpu.foreground import Foreground
from assistant.understanding.calls import IntentSchema, Vocabulary
from assistant.understanding.fallback import Fallback

__all__ = ["WARM_UP_DELAY", "WarmUp"]

log = logging.getLogger(__name__)

WARM_UP_DELAY = 2.0  # s of quiet in the registry before the LLM prompt is prepared again
_TASK = "llm-warm-up"


class WarmUp:
    """Schedules `fallback.warm(schemas(), vocabulary())` on the running loop."""

    def __init__(
        self,
        fallback: Fallback,
        schemas: Callable[[], Sequence[IntentSchema]],
        vocabulary: Callable[[], Vocabulary],
        foreground: Foreground | None = None,
    ) -> None:
        self.fallback = fallback
        self.foreground = foreground
        self.schemas = schemas
        self.vocabulary = vocabulary
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._again = False

    async def run(self) -> None:
        """Warm now, in a thread; a failure is logged (the first sentence pays instead)."""
        started = time.monotonic()
        try:
            work = functools.partial(self.fallback.warm, self.schemas(), self.vocabulary())
            if self.foreground is not None:
                await self.foreground.run_background(work)
            else:
                await asyncio.to_thread(work)
        except Exception as exc:  # noqa: BLE001 - the first sentence will pay instead
            log.warning("LLM prompt not prepared ahead: %s", exc)
            return
        log.info("LLM prompt ready (%.1f s)", time.monotonic() - started)

    def start(self, delay: float = 0.0) -> None:
        """Warm in the background after `delay` s (a newer call restarts the wait)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a one-shot command): the first sentence pays
        if self._timer is not None:
            self._timer.cancel()

        def begin() -> None:
            self._timer = None
            if self._tasks:
                # One at a time (a queue of them would hold every background
                # thread); the running one may have read the old names: again after it.
                self._again = True
                return
            task = loop.create_task(self.run(), name=_TASK)
            self._tasks.add(task)  # the loop holds tasks only weakly
            task.add_done_callback(self._finished)

        self._timer = loop.call_later(delay, begin)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._again and not task.cancelled():
            self._again = False
            self.start()

    def later(self) -> None:
        """Warm once things have been quiet for `WARM_UP_DELAY` s (a registry listener)."""
        self.start(WARM_UP_DELAY)

    async def done(self) -> None:
        """Return once no warm-up is pending or running (wrap in a timeout)."""
        while True:
            if self._tasks:
                await asyncio.wait(set(self._tasks))
            elif self._timer is not None:
                await asyncio.sleep(0.05)
            else:
                return

    def close(self) -> None:
        """Cancel what is pending or running."""
        self._again = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
