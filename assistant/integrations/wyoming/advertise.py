"""Announce the server as ``_wyoming._tcp`` by mDNS, where Home Assistant looks.

The announcement goes out only on the interface the server listens on: a
server on 127.0.0.1 is announced on loopback alone (nothing leaves the
machine), one on 0.0.0.0 on every interface with the gateway's LAN address.
"""

from __future__ import annotations

import ipaddress
import socket

from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

SERVICE_TYPE = "_wyoming._tcp.local."
MDNS_GROUP = "224.0.0.251"


def service_name(name: str) -> str:
    """The instance name: `name` as one DNS-SD label (dots and controls replaced)."""
    label = "".join(ch if ch.isprintable() and ch != "." else "-" for ch in name)[:63]
    return f"{label or 'assistant'}.{SERVICE_TYPE}"


def lan_address() -> str:
    """The address this machine would send multicast from (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((MDNS_GROUP, 1))
        return str(probe.getsockname()[0])


def service_info(host: str, port: int, name: str) -> AsyncServiceInfo:
    """The record announced for a server listening on `host`:`port`."""
    address = lan_address() if ipaddress.ip_address(host).is_unspecified else host
    return AsyncServiceInfo(
        SERVICE_TYPE,
        service_name(name),
        addresses=[socket.inet_aton(address)],
        port=port,
        server=f"{service_name(name).split('.')[0]}.local.",
    )


class Advertisement:
    """One registered `_wyoming._tcp` service; `start()`, then `stop()`."""

    def __init__(self, host: str, port: int, name: str) -> None:
        self.info = service_info(host, port, name)
        interfaces: InterfaceChoice | list[str] = (
            InterfaceChoice.All if ipaddress.ip_address(host).is_unspecified else [host]
        )
        self._interfaces = interfaces
        self._zeroconf: AsyncZeroconf | None = None

    async def start(self) -> None:
        """Register the service (probing the name on the network first)."""
        self._zeroconf = AsyncZeroconf(interfaces=self._interfaces, ip_version=IPVersion.V4Only)
        await self._zeroconf.async_register_service(self.info, allow_name_change=True)

    async def stop(self) -> None:
        """Say goodbye (so Home Assistant forgets the entry) and close the sockets."""
        if self._zeroconf is None:
            return
        zeroconf, self._zeroconf = self._zeroconf, None
        await zeroconf.async_unregister_service(self.info)
        await zeroconf.async_close()
