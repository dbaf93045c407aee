"""The interface's availability with a last will.

The shared MQTT connection (assistant.transports.mqtt) has no last will
yet, so a small second session carries it: it registers
``assistant/<site>/available = offline`` (retained) as its will, publishes
``online`` on every (re)connect, and ``offline`` when closed cleanly.  If the
process dies, the broker publishes the will.  When the shared connection
gains a will option this module can go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from types import TracebackType
from typing import Self

import aiomqtt

from assistant.config import MqttConfig
from assistant.interface import ONLINE, Interface

log = logging.getLogger(__name__)


class Presence:
    """`async with Presence(config, interface):` keeps the availability topic true."""

    def __init__(self, config: MqttConfig, interface: Interface) -> None:
        self.config = config
        self.topic, self.will_payload = interface.will()
        self._task: asyncio.Task[None] | None = None
        self._client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="presence")
        # The will must be registered before anyone sees us online.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.connected.wait()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(0.5):
                    await client.publish(self.topic, self.will_payload, qos=1, retain=True)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        attempt = 0
        config = self.config
        while True:
            will = aiomqtt.Will(self.topic, self.will_payload, qos=1, retain=True)
            try:
                async with aiomqtt.Client(
                    config.host,
                    config.port,
                    username=config.username,
                    password=config.password,
                    identifier=f"assistant-presence-{uuid.uuid4().hex[:8]}",
                    keepalive=min(config.keepalive, 30),
                    will=will,
                    tls_params=aiomqtt.TLSParameters(ca_certs=str(config.ca_file))
                    if config.tls and config.ca_file
                    else None,
                ) as client:
                    self._client = client
                    attempt = 0
                    await client.publish(self.topic, ONLINE, qos=1, retain=True)
                    self.connected.set()
                    # Nothing to read: the session only has to stay up.
                    await asyncio.Future()
            except aiomqtt.MqttError as exc:
                self._client = None
                self.connected.clear()
                attempt += 1
                delay = min(30.0, 2.0 ** min(attempt, 5)) * (0.5 + random.random() / 2)
                log.debug("presence: %s; retry in %.1f s", exc, delay)
                await asyncio.sleep(delay)
