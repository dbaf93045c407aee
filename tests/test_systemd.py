"""The systemd unit verifies, and the service speaks sd_notify over a real socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.service.notify import Notifier, watchdog_loop

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "assistant.service"


def _entries(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "[")):
            continue
        key, _, value = line.partition("=")
        values.setdefault(key, []).append(value)
    return values


def _runnable_exec_start() -> str:
    venv_script = Path(sys.executable).parent / "assistant"
    if venv_script.exists():
        return f"{venv_script} run"
    return f"{Path(sys.executable).resolve()} -m assistant.cli run"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd not installed")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # The real unit names /opt/assistant; verify checks that ExecStart exists,
    # so the copy points it at this checkout's interpreter.
    text = UNIT.read_text(encoding="utf-8")
    lines = [
        f"ExecStart={_runnable_exec_start()}" if line.startswith("ExecStart=") else line
        for line in text.splitlines()
    ]
    copy = tmp_path / "assistant.service"
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    # systemd-analyze also reports on unrelated system units; only ours matter.
    ours = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if str(copy) in line or "assistant.service" in line
    ]
    assert ours == []
    assert result.returncode == 0, result.stderr


def test_unit_declares_notify_restart_user_and_hardening() -> None:
    values = _entries(UNIT.read_text(encoding="utf-8"))
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "Restart": "on-failure",
        "User": "assistant",
        "SupplementaryGroups": "audio",
        "StateDirectory": "assistant",
        "ConfigurationDirectory": "assistant",
        "ExecStart": "/opt/assistant/.venv/bin/assistant run",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "SystemCallFilter": "@system-service",
        "DeviceAllow": "char-alsa rw",
        "PrivateDevices": "no",
        "CapabilityBoundingSet": "",
    }
    for key, value in expected.items():
        assert values.get(key) == [value], key
    assert "WatchdogSec" in values
    assert "StartLimitBurst" in values
    families = values["RestrictAddressFamilies"][0].split()
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= set(families)


@pytest.fixture
def datagram_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, str(path)
    sock.close()


def test_notify_sends_ready_to_a_path_socket(datagram_socket: tuple[socket.socket, str]) -> None:
    sock, path = datagram_socket
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.ready("all stages ready")
    assert sock.recv(4096).decode().splitlines() == ["READY=1", "STATUS=all stages ready"]
    assert notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1"


def test_notify_reaches_an_abstract_socket() -> None:
    name = f"assistant-test-{os.getpid()}-{id(object())}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": f"@{name}"}).watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_notify_without_socket_is_a_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert notifier.watchdog_seconds is None


def test_notify_to_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready()


def test_watchdog_interval_comes_from_the_environment() -> None:
    env = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(env).watchdog_seconds == 30.0
    # A watchdog meant for another process (our parent) is not ours to feed.
    assert Notifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_seconds is None


async def test_watchdog_loop_pings_until_cancelled(
    datagram_socket: tuple[socket.socket, str],
) -> None:
    sock, path = datagram_socket
    sock.setblocking(False)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"})
    task = asyncio.create_task(watchdog_loop(notifier), name="watchdog")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        first = await loop.sock_recv(sock, 4096)
        second = await loop.sock_recv(sock, 4096)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert first == second == b"WATCHDOG=1"
