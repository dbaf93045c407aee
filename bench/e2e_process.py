"""The process side of the end-to-end benchmark: a private mosquitto, the peak
RSS of a process tree, and `assistant run` start-up time and idle CPU."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def tree_peak_rss_mb() -> float:
    """Peak RSS of this process plus its children (the LLM runs in a worker)."""
    total = 0
    for pid in [os.getpid(), *_descendants(os.getpid())]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mosquitto(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A private mosquitto on a free loopback port: (process, port)."""
    port = _free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def idle_and_startup(seconds: float = 20.0) -> dict[str, Any]:
    """`assistant run --input -` on real-time silence: start-up time and idle CPU."""
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp_name:
        tmp = Path(tmp_name)
        broker, port = mosquitto(tmp)
        config = tmp / "config.toml"
        config.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "run", "--config", str(config), "--input", "-"],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        try:
            assert proc.stderr is not None
            assert proc.stdin is not None
            while True:
                line = proc.stderr.readline().decode()
                if not line:
                    raise RuntimeError("assistant run exited before it was ready")
                if line.startswith("listening"):
                    break
            ready = time.monotonic() - started
            os.set_blocking(proc.stderr.fileno(), False)
            block = np.random.default_rng(1).normal(0, 30, 480).astype(np.int16).tobytes()
            ticks = os.sysconf("SC_CLK_TCK")

            def cpu() -> float:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / ticks

            cpu0, t0 = cpu(), time.monotonic()
            next_at = t0
            while time.monotonic() - t0 < seconds:
                proc.stdin.write(block)
                proc.stdin.flush()
                next_at += 0.03
                time.sleep(max(0.0, next_at - time.monotonic()))
            share = (cpu() - cpu0) / (time.monotonic() - t0)
            rss = 0
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1])
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            broker.terminate()
            broker.wait(timeout=10)
    return {
        "startup_seconds": round(ready, 2),
        "idle_cpu_share_of_one_core": round(share, 4),
        "idle_seconds": seconds,
        "run_peak_rss_mb": round(rss / 1024, 1),
    }
