"""The one owner of what the STT knows of the home: Vosk's phrases, Whisper's names.

Vosk's grammar mode recognises only the phrases the home understands, so the
list must follow the devices: a new or renamed lamp is a new phrase.  A
``GrammarRefresh`` hears the registry change, waits until the changes settle
(discovery announces a whole home at once), builds the new list in a worker
thread (hassil sampling takes a while in a large home) and keeps it until the
next utterance begins, when the turn runner calls ``apply()`` on the thread
that feeds the engine: an utterance is never cut by a grammar change.

Whisper cannot be restricted, but it hears names better when told them: for
a ``PhraseBiased`` engine the list is the home's names, handed to ``set_bias``.

With a `Foreground` the build is background work: an idle-priority thread
that starts after any utterance in progress (and `build` may wait at its own
safe points with ``foreground.checkpoint``).

An engine that is both (two passes: Vosk, then Whisper) gets both lists,
built together: the phrases from ``build``, the names from ``names``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from assistant.cpu.foreground import Foreground
from assistant.devices.registry import Registry
from assistant.stt import PhraseBiased, PhraseRestrictable

log = logging.getLogger(__name__)

SETTLE_SECONDS = 1.0
"""Quiet time after the last registry change before the list is rebuilt."""

PhraseSource = Callable[[], Sequence[str]]
"""Builds the phrases (or names) to expect now (blocking; runs in a worker thread)."""


class GrammarRefresh:
    """Keeps `stt`'s phrases (Vosk) or names (Whisper) in step with the registry."""

    def __init__(
        self,
        stt: PhraseRestrictable | PhraseBiased,
        build: PhraseSource,
        *,
        names: PhraseSource | None = None,
        settle_seconds: float = SETTLE_SECONDS,
        foreground: Foreground | None = None,
    ) -> None:
        self.stt = stt
        self.build = build
        self.foreground = foreground
        self.names = names
        self.settle_seconds = settle_seconds
        self.count = 0
        """Phrases in the newest list."""
        self.builds = 0
        """Lists built so far (the first one included)."""
        self._lock = threading.Lock()  # _pending is handed from the loop to the STT thread
        self._pending: tuple[Sequence[str], Sequence[str] | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self, registry: Registry) -> int:
        """Build the first list (off the loop), then follow `registry`; the number of phrases."""
        self._loop = asyncio.get_running_loop()
        await self._rebuild()
        self._unsubscribe = registry.add_listener(self.changed)
        return self.count

    def changed(self) -> None:
        """The devices changed: rebuild once they have been quiet a moment.

        Called by the registry, which lives on the event loop.
        """
        self._arm()

    def apply(self) -> None:
        """Between utterances, on the thread that feeds the engine: use the newest list."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        phrases, names = pending
        if isinstance(self.stt, PhraseRestrictable):
            self.stt.set_phrases(phrases)
        else:
            self.stt.set_bias(phrases)
        if names is not None and isinstance(self.stt, PhraseBiased):
            self.stt.set_bias(names)

    async def settled(self) -> None:
        """Return once no rebuild is waiting or running (wrap in a timeout)."""
        while self._timer is not None or (self._task is not None and not self._task.done()):
            if self._task is not None and not self._task.done():
                await asyncio.wait({self._task})
            else:
                await asyncio.sleep(0.05)

    def close(self) -> None:
        """Stop following the registry and drop a rebuild in progress."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            self._task.cancel()
        self._loop = None

    def _arm(self) -> None:
        if self._loop is None:
            return  # closed meanwhile
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(self.settle_seconds, self._start_build)

    def _start_build(self) -> None:
        self._timer = None
        if self._task is not None and not self._task.done():
            # The build running now may have read the names before this change.
            self._again = True
            return
        assert self._loop is not None
        self._task = self._loop.create_task(self._rebuild_logged(), name="grammar-refresh")

    async def _rebuild_logged(self) -> None:
        try:
            await self._rebuild()
        except Exception:
            log.exception("STT grammar not rebuilt; the previous phrases stay in use")
        if self._again:
            self._again = False
            self._arm()

    async def _rebuild(self) -> None:
        background = self.foreground.run_background if self.foreground else asyncio.to_thread
        phrases = await background(self.build)
        names = None if self.names is None else await background(self.names)
        with self._lock:
            self._pending = (phrases, names)
        self.count = len(phrases)
        self.builds += 1
        log.info("STT grammar: %d phrases", self.count)
