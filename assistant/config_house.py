"""`[house]`: several gateways in one house (README: Several gateways in one house)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class HouseConfig(BaseModel):
    """Gateways that share one broker: house-wide asks and wake word arbitration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=False,
        description="Serve assistant/house/ask (one gateway per request, through an MQTT shared "
        "subscription) and arbitrate the wake word with the other gateways: of several that "
        "hear it, only the one that heard it best answers (part of the MQTT interface: needs "
        "[site] mqtt_interface). Off: a lone gateway, no added delay.",
    )
    group: str = Field(
        default="assistant",
        description="Shared subscription group: gateways with the same group split the "
        "house-wide asks ($share/<group>/assistant/house/ask).",
    )
    arbitration_seconds: float = Field(
        default=0.2,
        gt=0.0,
        le=5.0,
        description="After hearing the wake word, how long to collect the other gateways' "
        "claims before answering (the delay added to every wake).",
    )

    @field_validator("group")
    @classmethod
    def _one_topic_level(cls, group: str) -> str:
        if not group or any(ch in group for ch in "/+#") or not group.isprintable():
            raise ValueError(f"{group!r} cannot be one MQTT topic level")
        return group
