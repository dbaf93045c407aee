"""The real `assistant` commands as processes: killed, interrupted, given bad files.

Each command runs in a session of its own (``start_new_session``), like a
terminal job or a systemd unit; what it starts (the LLM worker process) stays
in that session even after being re-parented, so the test can see whether
anything outlives the command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.understanding.llm_process import WORKER_MODULE
from tests.conftest import Broker
from tests.processes import leftovers, wait_until_gone

COMMANDS = {
    "run": ["run", "--input", "-", "--no-wake"],
    "listen": ["listen", "-"],
    "ask": ["ask", "-"],
}


def _config(tmp_path: Path, broker: Broker) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'[discovery]\nprefix = "p{uuid.uuid4().hex[:8]}"\nsettle_seconds = 0.3\n'
        f'[zigbee2mqtt]\nenabled = false\n[site]\nid = "s{uuid.uuid4().hex[:8]}"\n'
        '[understanding]\nllm = "fallback"\n',
        encoding="utf-8",
    )
    return config


@contextlib.contextmanager
def started(args: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m assistant.cli ARGS` in a session of its own; killed whole at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", *args],
        stdin=subprocess.PIPE,  # kept open: `-` waits for input, like a live caller
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdin is not None:
            proc.stdin.close()
        if proc.stderr is not None:
            proc.stderr.close()


def _wait_for_worker(proc: subprocess.Popen[bytes], seconds: float = 240.0) -> None:
    """Until the LLM worker process runs in `proc`'s session."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(WORKER_MODULE in line for line in leftovers(proc.pid)):
            return
        assert proc.poll() is None, "the command ended before its LLM worker started"
        time.sleep(0.2)
    raise AssertionError("no LLM worker started")


@pytest.mark.slow
@pytest.mark.timeout(360)
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_nothing_outlives_a_killed_command(
    tmp_path: Path, broker: Broker, command: str, how: signal.Signals
) -> None:
    args = [*COMMANDS[command], "--config", str(_config(tmp_path, broker))]
    with started(args) as proc:
        _wait_for_worker(proc)
        proc.send_signal(how)  # the command alone, as `kill PID` or the OOM killer would
        proc.wait(timeout=30)
        assert wait_until_gone(proc.pid) == []


@pytest.mark.slow
@pytest.mark.timeout(360)
def test_ctrl_c_on_run_ends_quietly(tmp_path: Path, broker: Broker) -> None:
    args = [*COMMANDS["run"], "--config", str(_config(tmp_path, broker))]
    with started(args) as proc:
        _wait_for_worker(proc)
        time.sleep(1.0)  # past start-up: the pipeline is running
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
        proc.wait(timeout=30)
        assert proc.stderr is not None
        err = proc.stderr.read().decode(errors="replace")
        assert proc.returncode == 0, err[-2000:]
        assert "Traceback" not in err
        assert "KeyboardInterrupt" not in err
        assert wait_until_gone(proc.pid) == []


def test_listen_checks_its_files_before_loading_models(tmp_path: Path, broker: Broker) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio", encoding="utf-8")
    missing = tmp_path / "missing.wav"
    config = _config(tmp_path, broker)
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "listen", str(missing), str(text),
         "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    # One line per bad file, and not one stage loaded ("stt ... ready").
    assert len(lines) == 2, result.stderr
    assert "missing.wav: no such file" in lines[0]
    assert "notes.wav: not a WAV file" in lines[1]


def test_a_huge_input_is_not_echoed_back_in_full(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[mqtt]\nenabled = false\n[understanding]\nllm = "off"\n', encoding="utf-8")
    huge = "turn on the " + "very " * 2000 + "kitchen light"
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", "--json", huge, "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "very very" in result.stdout
    assert len(result.stdout) < 5_000


def test_the_cli_logging_escapes_terminal_controls_and_masks_secrets(tmp_path: Path) -> None:
    """What `assistant.cli.main` installs: log lines cannot carry escapes or secrets."""
    config = tmp_path / "config.toml"
    config.write_text('[mqtt]\npassword = "hunter2-pw"\n', encoding="utf-8")
    script = (
        "import logging, sys\n"
        "from assistant import cli\n"
        "def noisy(args, settings):\n"
        "    logging.getLogger('assistant.test').warning(\n"
        "        'name %s pw %s', 'Porch\\x1b[2J\\x07\\ud800', settings.mqtt.password)\n"
        "    return 0\n"
        "parser = cli.build_parser\n"
        "def patched():\n"
        "    p = parser()\n"
        "    p.set_defaults(func=noisy)\n"
        "    return p\n"
        "cli.build_parser = patched\n"
        "sys.exit(cli.main(['--config', sys.argv[1]]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(config)],
        capture_output=True, text=True, timeout=60, check=False, errors="replace",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Porch\\x1b[2J\\x07\ufffd" in result.stderr
    assert "\x1b" not in result.stderr
    assert "hunter2" not in result.stderr
    assert "pw ***" in result.stderr
