"""Wyoming connections whose reader refuses oversized events (server and satellites)."""

from __future__ import annotations

import asyncio

MAX_EVENT_BYTES = 1 << 20
"""Largest data or payload one event may announce (an audio chunk is a few KiB)."""


class BoundedReader(asyncio.StreamReader):
    """Refuses an event that announces more bytes than `MAX_EVENT_BYTES`.

    The wyoming reader trusts `payload_length` and would buffer whatever a
    peer announces; the ValueError makes it give up on the connection instead.
    """

    async def readexactly(self, n: int) -> bytes:
        if n > MAX_EVENT_BYTES:
            raise ValueError(f"an event of {n} bytes (at most {MAX_EVENT_BYTES})")
        return await super().readexactly(n)


async def open_bounded(host: str, port: int) -> tuple[BoundedReader, asyncio.StreamWriter]:
    """`asyncio.open_connection`, with a `BoundedReader`."""
    loop = asyncio.get_running_loop()
    reader = BoundedReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    transport, _ = await loop.create_connection(lambda: protocol, host, port)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)
