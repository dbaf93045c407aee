"""One TOML file -> validated settings.

This module is the one place that knows every configuration key, its type,
its default and its meaning.  Every section is a frozen pydantic model with
``extra="forbid"`` so that a misspelt key stops the program with one line
naming the key and the file, instead of being silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.config_house import HouseConfig
from assistant.config_llm_server import LlmServerConfig
from assistant.config_satellite import SatelliteConfig, SatelliteDiscoveryConfig
from assistant.config_site import SiteConfig
from assistant.config_wyoming import WyomingConfig
from assistant.devices.entities import Domain

SYSTEM_CONFIG = Path("/etc/assistant/config.toml")


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the user."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AudioConfig(_Section):
    """Microphone and speaker."""

    input_device: str | int | None = Field(
        default=None, description="Microphone by name (substring) or index; None = default."
    )
    output_device: str | int | None = Field(
        default=None, description="Speaker by name (substring) or index; None = default."
    )
    block_ms: int = Field(default=30, ge=10, le=200, description="Microphone block length.")
    queue_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Audio buffered between stages before the oldest is dropped.",
    )


class WakeConfig(_Section):
    """Wake word detection (pymicro-wakeword)."""

    enabled: bool = Field(default=True, description="Off for files or push-to-talk.")
    model: Literal["okay_nabu", "hey_jarvis", "alexa", "hey_mycroft"] = Field(
        default="okay_nabu", description="Bundled microWakeWord model."
    )
    threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Probability cut-off; None uses the model's own.",
    )


class VadConfig(_Section):
    """End-of-speech detection."""

    engine: Literal["silero", "webrtc", "micro"] = Field(
        default="silero", description="Voice activity detector."
    )
    preset: Literal["default", "aggressive", "relaxed"] = Field(
        default="default",
        description="aggressive: ends sooner (0.4 s); relaxed: waits longer (1.2 s).",
    )
    silence_seconds: float | None = Field(
        default=None,
        gt=0.0,
        le=10.0,
        description="Silence that ends an utterance; None takes the preset's (0.7 s default).",
    )
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="Speech probability.")
    max_utterance_seconds: float = Field(
        default=15.0, gt=1.0, le=120.0, description="An utterance is cut off after this long."
    )
    start_timeout_seconds: float = Field(
        default=5.0,
        gt=0.0,
        le=60.0,
        description="Give up when nothing is said this long after the wake word.",
    )


class SttConfig(_Section):
    """Speech recognition."""

    engine: Literal["whisper", "vosk", "two-pass"] = Field(
        default="whisper",
        description="STT engine; two-pass: Vosk with the home's phrases, Whisper when unsure.",
    )
    model: str | None = Field(
        default=None,
        description="Catalog model name or a directory; None = the engine's embedded default "
        "(two-pass: the Vosk model; Whisper is the catalog default).",
    )
    language: str = Field(default="en", description="Language code.")
    threads: int = Field(default=0, ge=0, le=64, description="CPU threads (0: every usable core).")
    # 5: on the espeak set (bench/stt.py) beam 5 made fewer errors than greedy
    # for about the same latency (the 30 s encoder pass dominates short commands).
    beam_size: int = Field(default=5, ge=1, le=10, description="Whisper beam size.")
    # 10: on the espeak set (bench/stt.py --bias example, 60 commands, 5 voices,
    # 2 cores) the median end of audio -> text fell from 678 to 287 ms (AVX-512)
    # and from 710 to 288 ms (CT2_FORCE_CPU_ISA=AVX2) with WER 3.4% -> 3.1%;
    # 8 s was as good, 5 s made 24% WER and 3 s looped (Whisper repeats itself
    # when its window is much shorter than the 30 s it was trained on).
    window_seconds: float = Field(
        default=10.0,
        ge=1.0,
        le=30.0,
        description="Whisper: seconds of audio its encoder reads per utterance, at least the "
        "utterance + 1 s (30: Whisper's standard window; less is faster on short commands).",
    )
    grammar: bool = Field(
        default=False,
        description="Vosk only: restrict recognition to the phrases the home understands.",
    )
    # 0.3: on bench/twopass.py's Korean set it kept every command Vosk understood
    # right and sent one of its three wrong actions to Whisper instead.
    two_pass_confidence: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="two-pass: Vosk's phrase stands at this n-best share or above, else Whisper.",
    )


class TtsConfig(_Section):
    """Spoken replies (pyttsx3 on espeak-ng)."""

    enabled: bool = Field(default=True, description="Speak replies.")
    voice: str | None = Field(default=None, description="espeak-ng voice, e.g. 'en-us'.")
    rate: int = Field(default=175, ge=50, le=400, description="Words per minute.")
    volume: float = Field(default=1.0, ge=0.0, le=1.0, description="0.0 to 1.0.")


class ModelsConfig(_Section):
    """Where models live."""

    directory: Path | None = Field(
        default=None,
        description="Models directory; None = $XDG_DATA_HOME/assistant/models, "
        "or /var/lib/assistant/models for the service ($STATE_DIRECTORY).",
    )
    catalog: Path | None = Field(
        default=None,
        description="Model catalog file; None = the project's models/catalog.toml "
        "(another one serves a local mirror).",
    )


class MqttConfig(_Section):
    """The MQTT broker."""

    enabled: bool = Field(default=True, description="Use MQTT for devices.")
    host: str = Field(
        default="localhost", min_length=1, pattern=r"^\S+$", description="Broker host."
    )
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port.")
    username: str | None = Field(default=None, description="User name.")
    password: str | None = Field(
        default=None, description="Password (never shown by `config show` or in logs)."
    )
    client_id: str | None = Field(default=None, description="Client id; None = generated.")
    keepalive: int = Field(default=60, ge=5, le=3600, description="Seconds.")
    tls: bool = Field(default=False, description="Connect with TLS.")
    ca_file: Path | None = Field(default=None, description="CA bundle for TLS.")
    cert_file: Path | None = Field(default=None, description="Client certificate for TLS.")
    key_file: Path | None = Field(default=None, description="Client key for TLS.")
    tls_insecure: bool = Field(
        default=False, description="Skip host name checks (self-signed labs only)."
    )
    command_ttl_seconds: float = Field(
        default=3.0,
        gt=0.0,
        le=3600.0,
        description="A command queued while the broker is away expires after this long.",
    )
    queue_size: int = Field(default=1000, ge=1, le=100000, description="Queued commands max.")
    confirm_seconds: float = Field(
        default=1.5, ge=0, le=30, description="A command waits this long for the device's state "
        "to confirm it (entities with a state topic; 0: not at all).",
    )  # fmt: skip


class DiscoveryConfig(_Section):
    """Home Assistant MQTT discovery."""

    enabled: bool = Field(default=True, description="Learn devices from discovery.")
    prefix: str = Field(default="homeassistant", description="Discovery prefix.")
    settle_seconds: float = Field(
        default=0.5,
        gt=0.0,
        le=30.0,
        description="Retained discovery is complete after this long with no new config.",
    )
    max_wait_seconds: float = Field(
        default=5.0, gt=0.0, le=120.0, description="Upper bound on waiting for discovery."
    )


class Zigbee2MqttConfig(_Section):
    """Zigbee2MQTT without Home Assistant."""

    enabled: bool = Field(default=True, description="Read zigbee2mqtt/bridge/devices.")
    base_topic: str = Field(default="zigbee2mqtt", description="Zigbee2MQTT base topic.")


class HomeAssistantConfig(_Section):
    """Home Assistant REST backend (alternative to MQTT)."""

    enabled: bool = Field(default=False, description="Use a Home Assistant server.")
    url: str = Field(default="http://homeassistant.local:8123/api", description="REST API URL.")
    token: str | None = Field(
        default=None, description="Long-lived access token (never shown or logged)."
    )
    verify_ssl: bool = Field(default=True, description="Check the server certificate.")


class DeviceConfig(_Section):
    """A device with no discovery, described by hand."""

    name: str = Field(description="Friendly name.")
    kind: Domain = Field(description="Entity domain.")
    id: str | None = Field(default=None, description="object id; None = from the name.")
    area: str | None = Field(default=None, description="Area (room).")
    aliases: tuple[str, ...] = Field(default=(), description="Other names.")
    command_topic: str | None = Field(default=None, description="Where commands go.")
    state_topic: str | None = Field(default=None, description="Where the state comes from.")
    payload_on: str = Field(default="ON", description="Payload for on / open / lock.")
    payload_off: str = Field(default="OFF", description="Payload for off / close / unlock.")
    device_class: str | None = Field(default=None, description="e.g. garage, window, door.")
    sensitive: bool | None = Field(
        default=None, description="Ask before acting; None = the domain's default."
    )


class EntityOverride(_Section):
    """Aliases and area overrides for any entity."""

    aliases: tuple[str, ...] = Field(default=(), description="Other names.")
    area: str | None = Field(default=None, description="Area override.")
    sensitive: bool | None = Field(default=None, description="Ask before acting.")
    confirm_seconds: float | None = Field(
        default=None, gt=0.0, le=120.0, description="Per-entity confirmation window."
    )


class AreaConfig(_Section):
    """What discovery cannot say about an area."""

    floor: str | None = Field(
        default=None, description="The floor the area is on ('lights upstairs')."
    )


class UnderstandingConfig(_Section):
    """Sentences -> intents."""

    language: str = Field(default="en", description="Sentence language.")
    llm: Literal["off", "fallback", "always", "server"] = Field(
        default="fallback",
        description="When the local GGUF model is asked; 'server': as 'fallback', but the "
        "[llm_server] model is asked first.",
    )
    llm_confirm: bool = Field(
        default=True,
        description="Ask 'Did you mean ...?' before acting on what the model understood: "
        "the embedded models are tiny and often wrong (bench/llm.py).",
    )
    llm_model: str = Field(default="smollm2-135m-instruct-q4_1", description="Catalog name.")
    llm_adapter: str = Field(
        default="auto",
        description="'auto': the adapter shipped for llm_model (models/catalog.toml), if any; "
        "'off': none (a few-shot prompt); or the path of a GGUF LoRA adapter from "
        "`assistant train`. With an adapter the model gets the short prompt it was trained on.",
    )
    llm_adapter_sha256: str | None = Field(
        default=None, description="A path adapter's sha256 (its report.json): checked at load."
    )
    llm_threads: int = Field(default=0, ge=0, le=64, description="CPU threads (0: all cores).")
    llm_context: int = Field(default=2048, ge=256, le=32768, description="Context size.")
    llm_timeout_seconds: float = Field(
        default=4.0, gt=0.0, le=120.0, description="Generation time limit."
    )
    intents_dir: Path | None = Field(default=None, description="User intents directory.")
    confirm_seconds: float = Field(
        default=10.0, gt=0.0, le=120.0, description="Time to answer 'Are you sure?'."
    )
    area: str | None = Field(
        default=None,
        description="Area the assistant is in: 'turn on the lights' means the lights here.",
    )


class Settings(_Section):
    """The whole configuration."""

    audio: AudioConfig = AudioConfig()
    wake: WakeConfig = WakeConfig()
    vad: VadConfig = VadConfig()
    stt: SttConfig = SttConfig()
    tts: TtsConfig = TtsConfig()
    models: ModelsConfig = ModelsConfig()
    mqtt: MqttConfig = MqttConfig()
    discovery: DiscoveryConfig = DiscoveryConfig()
    zigbee2mqtt: Zigbee2MqttConfig = Zigbee2MqttConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    understanding: UnderstandingConfig = UnderstandingConfig()
    llm_server: LlmServerConfig = LlmServerConfig()
    site: SiteConfig = SiteConfig()
    house: HouseConfig = HouseConfig()
    wyoming: WyomingConfig = WyomingConfig()
    devices: tuple[DeviceConfig, ...] = ()
    entities: dict[str, EntityOverride] = Field(
        default_factory=dict, description="Overrides keyed by entity id."
    )
    areas: dict[str, AreaConfig] = Field(
        default_factory=dict, description="Area settings keyed by area name."
    )
    satellites: tuple[SatelliteConfig, ...] = ()
    satellite_discovery: SatelliteDiscoveryConfig = SatelliteDiscoveryConfig()
    source: Path | None = Field(default=None, exclude=True, description="File read, if any.")


SECRET_KEYS: tuple[tuple[str, str], ...] = (
    ("mqtt", "password"),
    ("homeassistant", "token"),
    ("llm_server", "token"),
)
"""Keys whose values are never printed (config show, errors, logs)."""
NOT_ECHOED = (*SECRET_KEYS, ("llm_server", "url"))
"""Keys whose value a config error does not repeat (a URL may hold credentials)."""


def secrets(settings: Settings) -> tuple[str, ...]:
    """The secret values set in `settings` (to mask them in logs)."""
    found = (getattr(getattr(settings, section), key) for section, key in SECRET_KEYS)
    return tuple(value for value in found if value)


def _describe(
    error: Mapping[str, Any], origin: str, from_env: Mapping[tuple[str, ...], str]
) -> str:
    loc = tuple(str(part) for part in error["loc"])
    key = ".".join(loc)
    where = f"environment variable {from_env[loc]}" if loc in from_env else origin
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key '{key}'"
    if kind == "missing":
        return f"{where}: missing key '{key}'"
    got = "***" if loc[:2] in NOT_ECHOED else repr(error.get("input"))
    return f"{where}: key '{key}': {error['msg']} (got {got})"


def parse(
    data: Mapping[str, Any],
    origin: str = "config",
    from_env: Mapping[tuple[str, ...], str] | None = None,
) -> Settings:
    """Validate a mapping as settings; raise ConfigError naming the first bad key.

    `from_env` maps a key path (``("mqtt", "port")``) to the environment
    variable that set it, so an error blames the variable, not the file.
    """
    try:
        return Settings.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0], origin, from_env or {})) from None
