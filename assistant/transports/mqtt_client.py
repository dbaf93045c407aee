"""aiomqtt's Client, made to stop promptly whatever state the connection is in.

Three things in aiomqtt 2.x can keep a stopping process alive:

- it waits for every acknowledgement (PUBACK, SUBACK, DISCONNECT) through
  ``asyncio.wait_for``.  On Python 3.11 ``wait_for`` swallows a
  cancellation that arrives in the same loop iteration as the
  acknowledgement it waits for (CPython gh-86296, fixed in 3.12 by
  rebuilding ``wait_for`` on ``asyncio.timeout``).  This subclass waits with
  ``asyncio.timeout``, which passes the cancellation on;
- leaving the context waits up to the full timeout (10 s) for the broker to
  take our DISCONNECT, and a failure there (the broker already dropped us)
  replaces the cancellation that was unwinding the task with an
  ``MqttError``, which a reconnect loop then catches: SIGTERM logged, the
  process reconnecting forever.  Here the goodbye is bounded
  (``CLOSE_SECONDS``) and never hides the exception that ended the body;
- the TCP connect runs in the loop's default executor, whose threads
  ``asyncio.run`` joins at exit: a connect hanging on an unreachable host
  held the process for up to ``keepalive`` seconds.  Here it runs in a
  daemon thread that nobody waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import threading
from collections.abc import Awaitable
from types import TracebackType
from typing import Self, TypeVar

import aiomqtt
from aiomqtt.exceptions import MqttError

T = TypeVar("T")

CLOSE_SECONDS = 0.5


class Client(aiomqtt.Client):
    """``aiomqtt.Client`` that never swallows a cancellation and never holds a shutdown."""

    async def _wait_for(self, fut: Awaitable[T], timeout: float | None) -> T:  # noqa: ASYNC109
        if timeout is None:
            timeout = self.timeout
        try:
            async with asyncio.timeout(None if timeout == math.inf else timeout):
                return await fut
        except TimeoutError:
            raise aiomqtt.MqttError("Operation timed out") from None

    async def __aenter__(self) -> Self:
        """Connect (the blocking part in a daemon thread), then wait for the CONNACK."""
        if self._lock.locked():
            raise aiomqtt.MqttReentrantError("the client context manager is not reentrant")
        await self._lock.acquire()
        try:
            await _in_daemon_thread(self._client_connect)
        except BaseException as exc:
            self._lock.release()
            if isinstance(exc, OSError | aiomqtt.MqttError):
                raise MqttError(str(exc)) from None
            raise
        sock = self._client.socket()
        if isinstance(sock, socket.socket):  # e.g. TCP_NODELAY, as aiomqtt applies them
            for option in self._socket_options:
                sock.setsockopt(*option)
        try:
            await self._wait_for(self._connected, timeout=None)
        except BaseException:
            self._lock.release()
            self._connected = asyncio.Future()
            with contextlib.suppress(Exception):
                self._client.disconnect()
            raise
        if self._disconnected.done():
            self._disconnected = asyncio.Future()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Say goodbye to the broker within CLOSE_SECONDS; the body's exception wins."""
        self.timeout = min(self.timeout, CLOSE_SECONDS)
        try:
            await super().__aexit__(exc_type, exc, tb)
        except MqttError:
            if exc is None:
                raise
            # The body's own exception (a cancellation, a lost connection) is
            # the one that matters; returning lets it propagate unchanged.
        finally:
            if not self._disconnected.done():
                self._disconnected.set_result(None)
            elif not self._disconnected.cancelled():
                self._disconnected.exception()  # seen: no "never retrieved" warning
            if self._lock.locked():
                self._lock.release()


async def _in_daemon_thread(function: object) -> None:
    """Run a blocking call in a thread that neither the loop nor the interpreter waits for."""
    assert callable(function)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def target() -> None:
        error: BaseException | None = None
        try:
            function()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting task
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=target, name="mqtt-connect", daemon=True).start()
    await done
