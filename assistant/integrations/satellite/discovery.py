"""Wyoming services announced over zeroconf (mDNS ``_wyoming._tcp``).

wyoming-satellite announces itself with ``--zeroconf-name`` (default: its MAC
address).  STT, TTS and wake word services announce the same type; the link
asks each peer what it is and leaves those alone.  Only used when
``[satellite_discovery] enabled`` is on: nothing is sent on the LAN otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from assistant.config_satellite import SatelliteConfig
from assistant.textsafe import clean

log = logging.getLogger(__name__)

SERVICE_TYPE = "_wyoming._tcp.local."
RESOLVE_MS = 3000


def service_name(full: str) -> str:
    """ "kitchen._wyoming._tcp.local." -> "kitchen"."""
    return full.removesuffix("." + SERVICE_TYPE)


class Discovery:
    """Browses for Wyoming services and hands each one found to `found` as a config."""

    def __init__(
        self, found: Callable[[SatelliteConfig], object], interfaces: Sequence[str] | None = None
    ) -> None:
        self.found = found
        self.interfaces = list(interfaces) if interfaces is not None else None
        self._zeroconf: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        if self.interfaces is None:
            self._zeroconf = AsyncZeroconf()
        else:
            self._zeroconf = AsyncZeroconf(interfaces=self.interfaces)
        self._browser = AsyncServiceBrowser(
            self._zeroconf.zeroconf, SERVICE_TYPE, handlers=[self._changed]
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zeroconf is not None:
            await self._zeroconf.async_close()

    def _changed(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if state_change is not ServiceStateChange.Added:
            return  # a satellite that goes away is reconnected to by its link
        task = asyncio.get_running_loop().create_task(
            self._resolve(zeroconf, service_type, name), name="satellite-resolve"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, zeroconf: Zeroconf, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(zeroconf, RESOLVE_MS):
            log.info("zeroconf: %s did not say where it is", clean(name, 100))
            return
        addresses = info.parsed_addresses()
        if not addresses or info.port is None:
            return
        host = addresses[0]
        uri = f"tcp://[{host}]:{info.port}" if ":" in host else f"tcp://{host}:{info.port}"
        label = clean(service_name(name), 64) or None
        try:
            config = SatelliteConfig(uri=uri, name=label)
        except ValueError as exc:
            log.info("zeroconf: %s announced an unusable address (%s)", label, exc)
            return
        self.found(config)
