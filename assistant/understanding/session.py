"""A live understanding session for the CLI: open the device backend, then answer.

The backend is the one every command uses (``assistant.devices.backend``):
Home Assistant, MQTT or none, as configured.  `ask` acts through its
executor; `intents test` (``dry_run``) uses the same registry with a
recording executor, so it shows what would be done and sends nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.devices.backend import open_backend
from assistant.devices.entities import Executor
from assistant.devices.registry import Registry
from assistant.understanding.dryrun import RecordingExecutor
from assistant.understanding.engine import Understanding
from assistant.understanding.factory import build, make_fallback
from assistant.understanding.loader import IntentSources


@dataclass
class Session:
    """What a command works with."""

    understanding: Understanding
    sources: IntentSources
    registry: Registry
    executor: Executor


@contextlib.asynccontextmanager
async def open_session(
    settings: Settings,
    *,
    dry_run: bool = False,
    use_llm: bool = True,
    extra_dirs: Iterable[Path] = (),
) -> AsyncIterator[Session]:
    """Open the device backend (once it knows the home) and build the engine."""
    fallback = make_fallback(settings) if use_llm else None
    async with open_backend(settings) as devices:
        registry = devices.registry
        executor = RecordingExecutor(registry) if dry_run else devices.executor
        understanding, sources = build(
            settings, registry, executor, fallback=fallback, extra_dirs=extra_dirs
        )
        try:
            yield Session(understanding, sources, registry, executor)
        finally:
            understanding.close()
