"""`[[satellites]]` and `[satellite_discovery]`: Wyoming satellites in other rooms.

The gateway is the satellites' server: it connects to each one (port 10700
by default), sends ``run-satellite``, and answers what it hears.  Nothing on
the LAN is contacted unless it is listed here or discovery is switched on.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_PORT = 10700
"""wyoming-satellite's default port."""


class SatelliteConfig(BaseModel):
    """One satellite the gateway connects to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str = Field(description="Where it listens: 'tcp://host:10700'.")
    name: str | None = Field(
        default=None, min_length=1, max_length=64, description="Name in logs; None: host:port."
    )
    area: str | None = Field(
        default=None,
        description="Its room: 'turn on the lights' there means that room's lights. "
        "None: the area the satellite reports, else `[understanding] area`.",
    )
    sensitive: bool = Field(
        default=False,
        description="May it ask for sensitive actions (unlock, open the garage door), "
        "after a spoken yes? Off: it is refused them.",
    )

    @field_validator("uri")
    @classmethod
    def _tcp_uri(cls, value: str) -> str:
        parts = urlsplit(value)
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"not a valid port in {value!r}") from exc
        if parts.scheme != "tcp" or not parts.hostname or port is None:
            raise ValueError("expected 'tcp://host:port' (for example tcp://192.168.1.40:10700)")
        return value

    @property
    def host(self) -> str:
        """The satellite's host name or address."""
        host = urlsplit(self.uri).hostname
        assert host is not None  # validated
        return host

    @property
    def port(self) -> int:
        """The satellite's TCP port."""
        port = urlsplit(self.uri).port
        assert port is not None  # validated
        return port

    @property
    def label(self) -> str:
        """How logs name it."""
        return self.name or f"{self.host}:{self.port}"


class SatelliteDiscoveryConfig(BaseModel):
    """Finding satellites over zeroconf (mDNS `_wyoming._tcp`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=False,
        description="Connect to every Wyoming satellite announced on the LAN (off: only "
        "those listed in [[satellites]]).",
    )
