"""The utterance owns the CPU: background work waits while a command is handled.

From the wake word (or the start of speech when no wake word is needed) until
the reply is ready, the listener and the turn runner hold the `Foreground`.
Background work of the service (the LLM's prompt preparation, the STT's
phrase lists) then:

- runs on threads at the lowest priority (`lower_this_thread`: nice 19),
  which threads they start inherit (llama.cpp's OpenMP team is started by
  the thread that calls it).  Not ``SCHED_IDLE``: that starves for as long
  as anything else on the machine is busy, and a Python thread starved
  while it holds the GIL stalls the utterance's threads too;
- stops at safe points (`checkpoint`: between intents of a phrase list,
  between 128-token chunks of a prompt) until the utterance is done.

Priority alone is not enough: a Python thread at idle priority can still
hold the GIL the utterance's threads need, and a niced llama.cpp call keeps
the model's lock.  The safe points are what let the utterance through.

The flag lives in a one-byte shared memory file (``memfd``) so the LLM's
worker process reads the same flag between its prompt chunks
(`ForegroundView`).  Where memfd does not exist the flag is this process's
own and the worker never pauses (it still runs at idle priority).
"""

from __future__ import annotations

import asyncio
import logging
import mmap
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["Foreground", "ForegroundView", "lower_this_thread"]

log = logging.getLogger(__name__)

T = TypeVar("T")

IDLE_NICE = 19
BACKGROUND_THREADS = 2
"""Background jobs at once: a prompt preparation (mostly waiting on the LLM's
worker) and a phrase list rebuild need not wait for each other."""


def lower_this_thread() -> bool:
    """Run the calling thread (and threads it starts) at nice 19; False where it cannot.

    Lowering is always allowed; raising it back is not (without privileges),
    so only threads that do background work for their whole life call this.
    """
    try:
        # On Linux nice is per thread: PRIO_PROCESS with a thread id sets that thread's.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), IDLE_NICE)
    except (OSError, AttributeError):
        return False
    return True


class ForegroundView:
    """The foreground flag as another process sees it (read-only)."""

    def __init__(self, fd: int) -> None:
        self._map = mmap.mmap(fd, 1, prot=mmap.PROT_READ)

    @property
    def active(self) -> bool:
        """An utterance is being handled: stop at the next safe point."""
        return self._map[0] != 0

    def close(self) -> None:
        """Unmap the flag."""
        self._map.close()


class Foreground:
    """Held while an utterance is heard, recognised and understood."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._map: mmap.mmap | None = None
        if hasattr(os, "memfd_create"):
            self._fd = os.memfd_create("assistant-foreground", os.MFD_CLOEXEC)
            os.ftruncate(self._fd, 1)
            self._map = mmap.mmap(self._fd, 1)
        self._active = False
        self._changed = threading.Condition()
        self._pool: ThreadPoolExecutor | None = None
        self.pauses = 0
        """Times background work stopped at a safe point for an utterance."""

    # --- the utterance side ---------------------------------------------------
    def begin(self) -> None:
        """An utterance starts: background work stops at its next safe point."""
        self._set(True)

    def end(self) -> None:
        """The reply is ready: background work may continue."""
        self._set(False)

    @property
    def active(self) -> bool:
        """True while an utterance is being handled."""
        return self._active

    def _set(self, active: bool) -> None:
        with self._changed:
            if self._active == active:
                return
            self._active = active
            if self._map is not None:
                self._map[0] = int(active)
            self._changed.notify_all()

    # --- the background side --------------------------------------------------
    @property
    def fd(self) -> int | None:
        """The shared flag's file descriptor, for a worker process (None: not shared)."""
        return self._fd

    def checkpoint(self) -> None:
        """A safe point of background work: wait here while an utterance is handled."""
        with self._changed:
            if not self._active:
                return
            self.pauses += 1
            while self._active:
                self._changed.wait()

    async def run_background(self, work: Callable[[], T]) -> T:
        """Run `work` on an idle-priority thread, after any utterance in progress."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                BACKGROUND_THREADS, thread_name_prefix="background", initializer=_lowered
            )

        def job() -> T:
            self.checkpoint()
            return work()

        return await asyncio.get_running_loop().run_in_executor(self._pool, job)

    def close(self) -> None:
        """Let waiting work go, stop the threads, release the flag."""
        self.end()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _lowered() -> None:
    if not lower_this_thread():
        log.debug("background thread %d keeps its priority", threading.get_native_id())
