"""Shared fixtures: a real mosquitto on a free loopback port, espeak-ng speech."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from assistant.stt.vosk import VoskEngine


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Broker:
    """A mosquitto process the test owns; stop()/start() simulate an outage."""

    port: int
    conf: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"

    def start(self) -> None:
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen(
            [mosquitto, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _make_broker(tmp_path: Path, settings: str | None = None) -> Broker:
    """A mosquitto on a free loopback port; `settings` replace the open, in-memory default."""
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    default = "allow_anonymous true\npersistence false\n"
    conf.write_text(
        f"listener {port} 127.0.0.1\n{default if settings is None else settings}"
        "max_packet_size 2000000\nset_tcp_nodelay true\n",
        encoding="utf-8",
    )
    return Broker(port=port, conf=conf)


@contextlib.contextmanager
def running_broker(tmp_path: Path, settings: str | None = None) -> Iterator[Broker]:
    """A started broker (see _make_broker), stopped on exit."""
    b = _make_broker(tmp_path, settings)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A private mosquitto for one test."""
    with running_broker(tmp_path) as b:
        yield b


@pytest.fixture(scope="module")
def module_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A private mosquitto shared by the tests of one module (use unique topics)."""
    with running_broker(tmp_path_factory.mktemp("broker")) as b:
        yield b


@pytest.fixture(scope="module")
def vosk_ko() -> VoskEngine:
    """The Korean Vosk model (the only Vosk model on the registries), loaded once a module."""
    from assistant.config import Settings
    from assistant.stt import create_engine
    from assistant.stt.vosk import VoskEngine

    engine = create_engine(Settings.model_validate({"stt": {"engine": "vosk", "language": "ko"}}))
    assert isinstance(engine, VoskEngine)
    return engine


def speak(text: str, out: Path, voice: str = "en-us", speed: int = 160, rate: int = 22050) -> Path:
    """espeak-ng says `text` into a WAV file (its native 22.05 kHz unless resampled)."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is not installed (run scripts/setup)"
    subprocess.run(
        [espeak, "-v", voice, "-s", str(speed), "-w", str(out), text],
        check=True,
        capture_output=True,
    )
    return out
