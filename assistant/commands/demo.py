"""`assistant demo`: the product in a minute, on a machine with no microphone.

It uses the configured MQTT broker when one answers (with a private
discovery prefix, cleaned up afterwards), else starts a local mosquitto on
a free loopback port; starts the simulated fleet with the example home;
has espeak-ng speak commands (wake word first); runs each recording through
the real pipeline; and shows what was heard, what was understood, which
device changed, and the reply (played on a speaker, else written to WAV).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.audio.wav import read_wav, write_wav
from assistant.config import EntityOverride, Settings
from assistant.errors import UserError
from assistant.pipeline.files import FileListener, FileOutcome
from assistant.pipeline.runtime import Runtime, RuntimeOptions


@dataclass(frozen=True)
class Line:
    """One spoken command of the demo."""

    text: str
    voice: str = "en-us"
    wake: bool = True
    note: str = ""


SCRIPT: tuple[Line, ...] = (
    Line("turn on the kitchen light", "en-us"),
    Line("set the reading lamp to 40 percent", "en-gb"),
    Line("close the living room blinds", "en-us"),
    Line("turn on the ceiling fan", "en-gb-x-rp"),
    Line("open the garage door", "en-gb", note="sensitive: it asks first"),
    Line("yes", "en-us", wake=False, note="the answer needs no wake word"),
    Line("set the thermostat to 19 degrees", "en-gb-x-rp"),
    Line("turn off all the lights in the living room", "en-us+m3"),
    Line("turn off the counter strip", "en-us", note="half a name: the gazetteer stage"),
    Line("turn on the dusk lamp", "en-us", note="a misheard name: the gazetteer stage"),
    Line("it is too dark in the bedroom", "en-us", note="no template: the local model"),
    Line("yes", "en-gb", wake=False, note="the local model asks before it acts"),
)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `demo`."""
    parser = sub.add_parser(
        "demo",
        help="spoken commands to a simulated home through the real pipeline",
        parents=[common],
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="keep the recordings and replies here"
    )
    parser.add_argument("--no-llm", action="store_true", help="skip the local-model example")
    parser.set_defaults(func=run)


def _print(text: str = "") -> None:
    print(text, flush=True)


def _status(line: str) -> None:
    print(f"  {line}", flush=True)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _local_broker(workdir: Path) -> Iterator[int]:
    """A private mosquitto on a free loopback port for the demo's lifetime."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise UserError(
            "no MQTT broker answers and mosquitto is not installed "
            "(apt install mosquitto, or set [mqtt] host)"
        )
    port = _free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8"
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while not _reachable("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise UserError(f"could not start mosquitto on port {port}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def _speak(text: str, voice: str, out: Path) -> np.ndarray:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise UserError("the demo needs espeak-ng to speak its commands (apt install espeak-ng)")
    subprocess.run(
        [espeak, "-v", voice, "-s", "150", "-w", str(out), text], check=True, capture_output=True
    )
    return read_wav(out)


def record(line: Line, index: int, out_dir: Path) -> Path:
    """The recording a microphone would have made: wake word, pause, command, silence."""
    quiet = np.zeros(int(0.4 * SAMPLE_RATE), dtype=np.int16)
    parts = [quiet]
    scratch = out_dir / f".{index:02d}.part.wav"
    if line.wake:
        parts += [_speak("okay nabu", line.voice, scratch), quiet]
    parts += [_speak(line.text, line.voice, scratch), np.zeros(SAMPLE_RATE, dtype=np.int16)]
    scratch.unlink(missing_ok=True)
    path = out_dir / f"{index:02d}-{'-'.join(line.text.split()[:4])}.wav"
    write_wav(path, np.concatenate(parts))
    return path


def _change(before: Any, after: Any) -> str:
    """'off -> on', plus the attributes that changed ('brightness 0 -> 102')."""
    parts = [f"{before.state} -> {after.state}"] if before.state != after.state else []
    old, new = dict(before.attributes or {}), dict(after.attributes or {})
    for key in sorted(new):
        if old.get(key) != new[key] and not isinstance(new[key], dict | list):
            parts.append(f"{key} {old.get(key, '-')} -> {new[key]}")
    return ", ".join(parts) or "updated"


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [
        f"{entity_id}: {_change(before[entity_id], state)}"
        for entity_id, state in after.items()
        if entity_id in before and before[entity_id] != state
    ]


def _show(line: Line, outcome: FileOutcome, changes: list[str], played: bool) -> None:
    said = f"okay nabu, {line.text}" if line.wake else line.text
    note = f"   ({line.note})" if line.note else ""
    _print(f'\n"{said}"  [voice {line.voice}]{note}')
    result = outcome.result
    if result is None:
        _print("   heard:      (nothing)")
        return
    u = result.outcome
    _print(f"   heard:      {result.transcript}")
    if u is None:
        _print(f"   error:      {result.error}")
        return
    slots = ", ".join(f"{k}={v}" for k, v in u.slots.items())
    what = f"{u.intent}({slots})" if u.intent else "not understood"
    _print(f"   understood: {what}  via {u.handled_by or '-'}")
    _print(f"   devices:    {'; '.join(changes) if changes else 'no change'}")
    where = "played" if played else f"-> {outcome.reply_wav}"
    _print(f'   reply:      "{u.reply}"  ({where})')
    t = result.timings_ms
    _print(
        f"   timings:    speech-to-text {t.get('stt', 0):.0f} ms, understanding "
        f"{t.get('understanding', 0):.0f} ms, end of speech -> action "
        f"{t.get('end_of_speech_to_action', 0):.0f} ms"
    )


async def _wait_for_fleet(fleet: Any, seen: int, actions: int) -> None:
    if actions:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await fleet.wait_for_commands(seen + actions)


async def demo(settings: Settings, out_dir: Path, no_llm: bool) -> int:
    """Run the script against the simulated home."""
    from assistant.simulate import Fleet, load_example_home

    home = load_example_home()
    overrides = {k: EntityOverride(**v) for k, v in home.overrides().items()}
    prefix = f"assistant-demo-{uuid.uuid4().hex[:6]}"
    settings = settings.model_copy(
        update={
            "entities": {**overrides, **settings.entities},
            "discovery": settings.discovery.model_copy(update={"prefix": prefix}),
        }
    )
    script = [line for line in SCRIPT if not (no_llm and "local model" in line.note)]
    if settings.understanding.llm == "off":
        script = [line for line in script if "local model" not in line.note]

    _print("Recording the spoken commands with espeak-ng ...")
    recordings = [record(line, i, out_dir) for i, line in enumerate(script, 1)]
    speaker = _speaker(settings)

    _print(f"Starting the simulated home ({len(home.entities)} devices) and the assistant:")
    async with Fleet(home, settings.mqtt, prefix, clear_on_exit=True) as fleet:
        options = RuntimeOptions(wake=True, speak=True, interface=False, wait_for_broker=False)
        async with Runtime(settings, options, status=_status) as runtime:
            assert runtime.listener is not None
            assert runtime.turns is not None
            files = FileListener(runtime.listener, runtime.turns)
            for line, path in zip(script, recordings, strict=True):
                if "local model" in line.note and not runtime.llm_loaded:
                    _print(f'\n"okay nabu, {line.text}"   (skipped: the local model is off)')
                    continue
                before = dict(fleet.states)
                seen = len(fleet.received)
                outcome = await files.process(path, out_dir)
                result = outcome.result
                actions = len(result.outcome.actions) if result and result.outcome else 0
                await _wait_for_fleet(fleet, seen, actions)
                played = False
                if speaker is not None and result is not None and result.reply_audio is not None:
                    await speaker.play(result.reply_audio)
                    played = True
                _show(line, outcome, _changes(before, dict(fleet.states)), played)
    _print(f"\nRecordings and replies are in {out_dir}")
    return 0


def _speaker(settings: Settings) -> Any:
    from assistant.audio.sinks import SpeakerSink

    try:
        return SpeakerSink(settings.audio.output_device)
    except UserError:
        return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Entry point of `assistant demo`."""
    _print("assistant demo: an offline voice assistant on a simulated home\n")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="assistant-demo-")))
        out_dir = args.out or Path(tempfile.mkdtemp(prefix="assistant-demo-out-"))
        out_dir.mkdir(parents=True, exist_ok=True)
        mqtt = settings.mqtt
        if _reachable(mqtt.host, mqtt.port):
            _print(f"Using the MQTT broker at {mqtt.host}:{mqtt.port}")
        else:
            port = stack.enter_context(_local_broker(workdir))
            _print(f"No broker at {mqtt.host}:{mqtt.port}: started mosquitto on 127.0.0.1:{port}")
            settings = settings.model_copy(
                update={"mqtt": mqtt.model_copy(update={"host": "127.0.0.1", "port": port})}
            )
        started = time.monotonic()
        code = asyncio.run(demo(settings, out_dir, args.no_llm))
        _print(f"Done in {time.monotonic() - started:.0f} s.")
        sys.stdout.flush()
        return code
