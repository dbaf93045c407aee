"""Connection options and failures: TLS settings, backoff, one-line error texts."""

from __future__ import annotations

import logging
import random
import ssl
from collections.abc import Callable

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from assistant.config import MqttConfig

log = logging.getLogger("assistant.transports.mqtt")

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0


def backoff_delay(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds before reconnect attempt `attempt` (0-based): 1, 2, 4 ... 30, +-25 % jitter."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_FIRST_SECONDS * 2.0 ** min(attempt, 16))
    jitter: float = 0.75 + 0.5 * rng()
    return min(BACKOFF_CAP_SECONDS, base * jitter)


def tls_parameters(config: MqttConfig) -> aiomqtt.TLSParameters | None:
    """aiomqtt's TLS settings from `[mqtt]`; None without TLS."""
    if not config.tls:
        return None
    # Without a CA file an insecure lab broker's self-signed certificate cannot
    # be verified at all; with one, "insecure" only skips the host name check.
    insecure_without_ca = config.tls_insecure and config.ca_file is None
    return aiomqtt.TLSParameters(
        ca_certs=str(config.ca_file) if config.ca_file else None,
        certfile=str(config.cert_file) if config.cert_file else None,
        keyfile=str(config.key_file) if config.key_file else None,
        cert_reqs=ssl.CERT_NONE if insecure_without_ca else ssl.CERT_REQUIRED,
    )


def describe_error(exc: BaseException) -> str:
    """One line for a connection failure."""
    if isinstance(exc, MqttConnectError):
        # ReasonCode's str is e.g. "Not authorized"; v3.1.1 codes have a text already.
        detail = str(exc.rc) if not isinstance(exc.rc, int) else str(exc).split("] ", 1)[-1]
        return f"the broker refused the connection: {detail}"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class LastProblem(logging.Handler):
    """Keeps paho's last warning: why a TLS handshake or a read failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.message = record.getMessage().strip().splitlines()[0]
        log.debug("paho: %s", self.message)
