"""A live understanding session for the CLI: learn the home over MQTT, then answer.

`ask` acts for real through the MQTT executor; `intents test` uses the same
registry with a recording executor, so it shows what would be done.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
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
    """Connect, wait until retained discovery has settled, and build the engine."""
    from assistant.devices.mqtt.service import DeviceService

    registry = Registry()
    fallback = make_fallback(settings) if use_llm else None
    if not settings.mqtt.enabled:
        executor: Executor = RecordingExecutor(registry)
        understanding, sources = build(
            settings, registry, executor, fallback=fallback, extra_dirs=extra_dirs
        )
        try:
            yield Session(understanding, sources, registry, executor)
        finally:
            understanding.close()
        return
    async with DeviceService(settings, registry) as service:
        await service.wait_settled()
        executor = RecordingExecutor(registry) if dry_run else service.executor
        understanding, sources = build(
            settings, registry, executor, fallback=fallback, extra_dirs=extra_dirs
        )
        try:
            yield Session(understanding, sources, registry, executor)
        finally:
            understanding.close()
