"""The Wyoming TCP server: bounded connections, each answered by a ``WyomingHandler``.

The loop's TCP server accepts (with a stream reader that refuses huge
events); each connection runs the wyoming package's own event loop
(``AsyncEventHandler.run``) in a named task, closed after ``idle_seconds``
of silence.  Beyond ``max_clients`` a connection is closed at once with one
log line, so a burst of clients queues no work.  Shutdown closes the
listening socket and every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Self

from assistant.config_wyoming import WyomingConfig
from assistant.errors import UserError
from assistant.integrations.wyoming.advertise import Advertisement
from assistant.integrations.wyoming.handler import Services, WyomingHandler
from assistant.integrations.wyoming.stream import BoundedReader

log = logging.getLogger(__name__)


class WyomingServer:
    """`async with WyomingServer(config, services, name) as server:` serves until exit."""

    def __init__(self, config: WyomingConfig, services: Services, name: str) -> None:
        self.config = config
        self.services = services
        self.name = name
        self.port = config.port
        """The bound port (the chosen one when the config says 0)."""
        self._server: asyncio.Server | None = None
        self._tasks: dict[asyncio.Task[None], WyomingHandler] = {}
        self._advertisement: Advertisement | None = None

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()

        def protocol() -> asyncio.StreamReaderProtocol:
            # asyncio.start_server's own factory, with the bounded reader.
            return asyncio.StreamReaderProtocol(BoundedReader(), self._accept)

        try:
            self._server = await loop.create_server(
                protocol, host=self.config.host, port=self.config.port
            )
        except OSError as exc:
            raise UserError(
                f"wyoming: cannot listen on {self.config.host}:{self.config.port}: {exc.strerror}"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]
        if self.config.zeroconf:
            self._advertisement = Advertisement(self.config.host, self.port, self.name)
            try:
                await self._advertisement.start()
            except (OSError, ValueError) as exc:
                # Serving matters more than being found: Home Assistant can be told the address.
                log.warning("wyoming: not advertised by zeroconf (%s)", exc)
                self._advertisement = None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._advertisement is not None:
            await self._advertisement.stop()
        if self._server is not None:
            self._server.close()
        for handler in list(self._tasks.values()):
            await handler.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def advertised(self) -> bool:
        """True while the zeroconf announcement is registered."""
        return self._advertisement is not None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        peer = str(address[0]) if isinstance(address, tuple) else "unknown"
        if len(self._tasks) >= self.config.max_clients:
            log.warning(
                "wyoming %s: refused (%d clients connected, max_clients)", peer, len(self._tasks)
            )
            writer.close()
            return
        handler = WyomingHandler(reader, writer, self.services, peer, self.config.idle_seconds)
        task = asyncio.create_task(self._serve(handler), name=f"wyoming-client-{peer}")
        self._tasks[task] = handler
        task.add_done_callback(lambda done: self._tasks.pop(done, None))

    async def _serve(self, handler: WyomingHandler) -> None:
        try:
            async with asyncio.timeout(self.config.idle_seconds) as idle:
                handler.idle = idle
                await handler.run()
        except TimeoutError:
            log.info("wyoming %s: idle %g s; connection closed", handler.peer, handler.idle_seconds)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("wyoming %s: connection lost (%s)", handler.peer, type(exc).__name__)
        finally:
            with contextlib.suppress(ConnectionError):
                handler.writer.close()


def describe(server: WyomingServer) -> str:
    """The status line for a started server: address, offer, zeroconf."""
    services = server.services
    offers = [
        kind
        for kind, present in (
            ("stt", bool(services.info.asr)),
            ("tts", bool(services.info.tts)),
            (f"intents ({services.intents})", True),
        )
        if present
    ]
    announced = "zeroconf _wyoming._tcp" if server.advertised else "not announced"
    return f"tcp://{server.config.host}:{server.port} {', '.join(offers)}; {announced}"
