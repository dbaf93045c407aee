"""systemd's sd_notify protocol in pure Python, and the watchdog task.

The service manager passes ``$NOTIFY_SOCKET`` (a filesystem path, or an
abstract socket written with a leading ``@``); each notification is one
datagram of ``KEY=VALUE`` lines.  Without the variable every call is a no-op,
so the same code runs under systemd, in a terminal and in tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def _address(value: str) -> str | bytes:
    # An abstract socket is written "@name"; on the wire its first byte is NUL.
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


class Notifier:
    """Sends sd_notify datagrams to the socket named in the environment."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._socket_name = env.get("NOTIFY_SOCKET") or None
        self.watchdog_seconds = _watchdog_seconds(env)

    @property
    def enabled(self) -> bool:
        """True when a service manager listens."""
        return self._socket_name is not None

    def notify(self, **fields: str | int) -> bool:
        """Send `KEY=VALUE` fields (ready=1 -> READY=1); True if sent.

        A failure to send is logged once per call and never raised: the
        service must not die because the manager went away.
        """
        if self._socket_name is None:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(_address(self._socket_name))
                sock.sendall(message.encode())
        except OSError as exc:
            log.warning("cannot notify the service manager at %s: %s", self._socket_name, exc)
            return False
        return True

    def ready(self, status: str = "listening") -> bool:
        """Tell the manager start-up is complete."""
        return self.notify(ready=1, status=status)

    def status(self, text: str) -> bool:
        """A one-line status shown by `systemctl status`."""
        return self.notify(status=text)

    def stopping(self) -> bool:
        """Tell the manager a clean stop has begun."""
        return self.notify(stopping=1)

    def watchdog(self) -> bool:
        """One watchdog keep-alive."""
        return self.notify(watchdog=1)


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """WatchdogSec as systemd passes it ($WATCHDOG_USEC, for our pid), else None."""
    usec = env.get("WATCHDOG_USEC")
    if not usec or not usec.isdigit() or int(usec) == 0:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 1_000_000


async def watchdog_loop(notifier: Notifier, interval: float | None = None) -> None:
    """Send WATCHDOG=1 at half the manager's interval until cancelled.

    It runs on the event loop on purpose: if the loop stalls, the pings stop
    and systemd restarts the service.
    """
    period = interval
    if period is None:
        if notifier.watchdog_seconds is None:
            return
        period = notifier.watchdog_seconds / 2
    while True:
        notifier.watchdog()
        await asyncio.sleep(period)
