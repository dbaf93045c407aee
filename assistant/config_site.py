"""`[site]`: this assistant's identity and its MQTT interface (who may ask, who may say)."""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SiteConfig(BaseModel):
    """This assistant's own identity and MQTT interface."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        default_factory=lambda: socket.gethostname() or "assistant",
        description="Site id in assistant/<site>/... topics; default the hostname.",
    )
    mqtt_interface: bool = Field(default=True, description="Publish state, serve ask/say.")
    mqtt_trusted_users: tuple[str, ...] = Field(
        default=(),
        description="MQTT user names allowed to ask for sensitive actions (unlock, open): "
        "each gets its own topic assistant/<site>/ask/<user>, which the broker's ACL must let "
        "only that user publish to (README: Who may unlock the door). Requests on the shared "
        "assistant/<site>/ask can never unlock or open anything.",
    )
    ha_discovery: bool = Field(
        default=True,
        description="With mqtt_interface: publish a retained Home Assistant device discovery "
        "config at start (homeassistant/device/assistant_<site>/config), so the assistant "
        "appears in Home Assistant with its state, mute switch, wake word and listen button. "
        "Never removed automatically (README: In Home Assistant).",
    )
    mqtt_say: Literal["anyone", "trusted"] = Field(
        default="anyone",
        description="Who may make the assistant speak: anyone on assistant/<site>/say "
        "(automations use it), or only the trusted users, on assistant/<site>/say/<user>.",
    )

    @field_validator("mqtt_trusted_users")
    @classmethod
    def _one_topic_level(cls, users: tuple[str, ...]) -> tuple[str, ...]:
        for user in users:
            if not user or any(ch in user for ch in "/+#") or not user.isprintable():
                raise ValueError(f"{user!r} cannot be one MQTT topic level")
        return users
