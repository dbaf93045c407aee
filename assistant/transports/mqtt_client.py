"""aiomqtt's Client, with acknowledgements awaited in a way that can be cancelled.

aiomqtt waits for every acknowledgement (PUBACK, SUBACK, DISCONNECT) through
``asyncio.wait_for``.  On Python 3.11 ``wait_for`` swallows a cancellation
that arrives in the same loop iteration as the acknowledgement it waits for
(CPython gh-86296, fixed in 3.12 by rebuilding ``wait_for`` on
``asyncio.timeout``).  A task stopped while it publishes then carries on as
if nothing happened: the simulated fleet kept serving after its owner
cancelled it, and a service could miss its SIGTERM the same way.  This
subclass waits with ``asyncio.timeout``, which passes the cancellation on.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from typing import TypeVar

import aiomqtt

T = TypeVar("T")


class Client(aiomqtt.Client):
    """``aiomqtt.Client`` whose waits for the broker never swallow a cancellation."""

    async def _wait_for(self, fut: Awaitable[T], timeout: float | None) -> T:  # noqa: ASYNC109
        if timeout is None:
            timeout = self.timeout
        try:
            async with asyncio.timeout(None if timeout == math.inf else timeout):
                return await fut
        except TimeoutError:
            raise aiomqtt.MqttError("Operation timed out") from None
