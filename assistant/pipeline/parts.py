"""The pipeline's parts as the settings make them: listener, voice, MQTT interface.

Shared by the runtime, the satellites and the tests, each of which builds
the same parts from the same settings.
"""

from __future__ import annotations

import asyncio

from assistant.config import Settings
from assistant.errors import UserError
from assistant.interface import HOUSE, Interface, Request
from assistant.pipeline.listener import Listener
from assistant.pipeline.turn import Synthesizer
from assistant.transports.mqtt import Incoming, MqttConnection


async def no_publish(topic: str, payload: str, retain: bool) -> None:
    """Placeholder publisher for computing topics before the connection exists."""


def make_listener(settings: Settings, wake: bool, vad_engine: str | None = None) -> Listener:
    """Wake word detector (unless off) and end-of-speech detector from the settings."""
    from assistant.vad import EndOfSpeech, EndpointSettings, create_engine
    from assistant.wake import WakeWordDetector

    detector = (
        WakeWordDetector(settings.wake.model, settings.wake.threshold)
        if wake and settings.wake.enabled
        else None
    )
    endpointer = EndOfSpeech(
        create_engine(vad_engine or settings.vad.engine),  # type: ignore[arg-type]
        EndpointSettings.from_config(settings.vad),
    )
    return Listener(detector, endpointer)


def make_tts(settings: Settings) -> Synthesizer | None:
    """The reply voice, or None when TTS is off or unavailable (logged)."""
    if not settings.tts.enabled:
        return None
    from assistant.pipeline.speech import create_synthesizer

    return create_synthesizer(settings)


def connect_interface(
    settings: Settings, connection: MqttConnection, requests: asyncio.Queue[Request]
) -> Interface:
    """The MQTT interface of `[site]` on `connection`: ask/say into `requests`,
    mute / wake word / listen into the interface's `controls`."""

    async def publish(topic: str, payload: str, retain: bool) -> None:
        await connection.publish(topic, payload, qos=1, retain=retain, ttl=5.0)

    house = settings.house.group if settings.house.enabled else None
    interface = Interface.from_settings(settings.site, publish, house)
    if house is not None and interface.topics.site == HOUSE.site:
        raise UserError(f"[site] id {HOUSE.site!r} is taken by the house-wide topics ([house])")

    def on_message(message: Incoming) -> None:
        request = interface.parse(message.topic, message.payload)
        if request is not None:
            interface.offer(request, requests)  # full: dropped, answered "busy"

    def on_control(message: Incoming) -> None:
        interface.offer_control(message.topic, message.payload)

    for topic in interface.topics.subscriptions():
        connection.subscribe(topic, on_message)
    for topic in interface.controls_topics.subscriptions():
        connection.subscribe(topic, on_control)
    return interface
