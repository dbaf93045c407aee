"""`[wyoming]`: the Wyoming server Home Assistant uses for speech and conversation.

Its own module because config.py is full; ``Settings.wyoming`` is the one line there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class WyomingConfig(BaseModel):
    """The Wyoming server (speech-to-text, text-to-speech, conversation for Home Assistant)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=False, description="Start the server with `assistant run` (serve-wyoming always)."
    )
    host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Address to listen on; 0.0.0.0 for Home Assistant on another host.",
    )
    # 10300: the port of wyoming-faster-whisper, the speech-to-text this replaces;
    # 10700 stays free for a wyoming-satellite on the same machine.
    port: int = Field(default=10300, ge=0, le=65535, description="TCP port (0: any free port).")
    intents: Literal["handle", "recognize"] = Field(
        default="handle",
        description=(
            "handle: act on the sentence and answer `handled` with the reply; "
            "recognize: answer `intent` (name, slots) for Home Assistant to execute."
        ),
    )
    zeroconf: bool = Field(
        default=True, description="Advertise _wyoming._tcp by mDNS (not when host is loopback)."
    )
    name: str | None = Field(
        default=None, description="Name advertised by zeroconf; None = the site id."
    )
    max_clients: int = Field(
        default=8, ge=1, le=256, description="Connections served at once; more are refused."
    )
    max_audio_seconds: float = Field(
        default=30.0, gt=0, le=300, description="Longest utterance accepted from a client."
    )
    idle_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="A connection that sends nothing this long is closed (frees its slot).",
    )
