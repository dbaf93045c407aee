"""SIGTERM / SIGINT -> an asyncio.Event the long-running commands wait on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_event(loop: asyncio.AbstractEventLoop) -> Iterator[asyncio.Event]:
    """An event set by the first SIGTERM/SIGINT; a second one restores the default."""
    event = asyncio.Event()

    def on_signal(signum: int) -> None:
        if event.is_set():
            # Second signal: the user insists; let the default handler end us.
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        log.info("stopping on %s", signal.Signals(signum).name)
        event.set()

    installed: list[signal.Signals] = []
    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError):
            continue  # not the main thread: the caller stops us another way
        installed.append(signum)
    try:
        yield event
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
