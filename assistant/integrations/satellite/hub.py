"""Every satellite the gateway serves: the configured ones and those found over zeroconf.

One named task per satellite, each with its own reconnect loop: a satellite
that fails never disturbs the others or the gateway's own microphone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

from assistant.config import Settings
from assistant.config_satellite import SatelliteConfig
from assistant.integrations.satellite.link import SatelliteLink, Services
from assistant.pipeline.messages import TurnResult
from assistant.understanding.conversation import Announce
from assistant.understanding.origin import Origin

if TYPE_CHECKING:
    from assistant.pipeline.runtime import Runtime

log = logging.getLogger(__name__)


class SatelliteHub:
    """`async with SatelliteHub(services, configs) as hub:` serves them until the block ends."""

    def __init__(
        self,
        services: Services,
        configs: Sequence[SatelliteConfig] = (),
        *,
        discover: bool = False,
        discover_interfaces: Sequence[str] | None = None,
    ) -> None:
        self.services = services
        self.configs = tuple(configs)
        self.discover = discover
        self.discover_interfaces = discover_interfaces
        self.links: dict[str, SatelliteLink] = {}
        """By "host:port"."""
        self._tasks: list[asyncio.Task[None]] = []
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        for config in self.configs:
            self.add(config)
        if self.discover:
            from assistant.integrations.satellite.discovery import Discovery

            await self._stack.enter_async_context(
                Discovery(self.add, interfaces=self.discover_interfaces)
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def add(self, config: SatelliteConfig) -> SatelliteLink | None:
        """Serve one more satellite (None: one at that address is served already)."""
        where = f"{config.host}:{config.port}"
        if where in self.links:
            return None
        link = SatelliteLink(config, self.services)
        if self.services.conversation_announce is not None:
            # A question's "cancelled" is said where it was asked.
            self.services.conversation_announce(link.origin, link.announce)
        self.links[where] = link
        self._tasks.append(asyncio.create_task(link.run(), name=f"satellite-{link.name}"))
        log.info("satellite %s: serving %s", link.name, config.uri)
        return link

    async def wait_connected(self) -> None:
        """Return once every satellite served so far is connected (wrap in a timeout)."""
        for link in list(self.links.values()):
            await link.connected.wait()


def runtime_services(
    runtime: Runtime, on_turn: Callable[[str, TurnResult], None] | None = None
) -> Services:
    """The loaded runtime's engines, shared with the satellites."""
    from assistant.pipeline.parts import make_listener

    assert runtime.turns is not None
    assert runtime.understanding is not None
    settings = runtime.settings
    understanding = runtime.understanding
    vad = runtime.vad_engine

    def speak_there(origin: Origin, announce: Announce) -> None:
        understanding.conversation(origin).announce = announce

    return Services(
        turns=runtime.turns,
        new_listener=lambda: make_listener(settings, wake=True, vad_engine=vad),
        conversation_announce=speak_there,
        on_turn=on_turn,
    )


def wanted(settings: Settings) -> bool:
    """Are satellites configured (or to be discovered)?"""
    return bool(settings.satellites) or settings.satellite_discovery.enabled
