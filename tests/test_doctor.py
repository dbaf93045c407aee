"""`assistant doctor` on this machine, against a real mosquitto and a closed port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Broker, free_port


def _doctor(
    tmp_path: Path, port: int, *extra: str, extra_config: str = ""
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n{extra_config}', encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "doctor", "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _row(output: str, check: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(check))


def test_doctor_prints_every_check_on_this_machine(tmp_path: Path, broker: Broker) -> None:
    result = _doctor(tmp_path, broker.port)
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert out.splitlines()[0].split() == ["CHECK", "STATUS", "DETAIL"]
    for check in ("audio input", "audio output", "espeak-ng", "model stt", "mqtt broker"):
        assert _row(out, check)
    assert " ok " in _row(out, "espeak-ng")
    assert " ok " in _row(out, "model stt (whisper)")
    assert "whisper-base" in _row(out, "model stt (whisper)")
    if " FAIL " in _row(out, "audio input"):
        # No sound card (as on CI): the row says what to do, and the exit code says it too.
        assert "fix: plug in a microphone" in out
        assert result.returncode == 1


def test_doctor_reports_a_reachable_broker(tmp_path: Path, broker: Broker) -> None:
    result = _doctor(tmp_path, broker.port, "--skip", "audio")
    row = _row(result.stdout, "mqtt broker")
    assert " ok " in row
    assert f"127.0.0.1:{broker.port} accepts MQTT" in row
    assert f"mqtt at 127.0.0.1:{broker.port}: " in _row(result.stdout, "device backend")
    assert result.returncode == 0, result.stdout


def test_doctor_fails_on_a_closed_port_and_says_how_to_fix_it(tmp_path: Path) -> None:
    port = free_port()
    result = _doctor(tmp_path, port, "--skip", "audio")
    assert result.returncode == 1
    row = _row(result.stdout, "mqtt broker")
    assert " FAIL " in row
    assert f"127.0.0.1:{port} unreachable" in row
    assert "fix: start the broker" in result.stdout
    assert "Traceback" not in result.stderr
    backend = _row(result.stdout, "device backend")
    assert " FAIL " in backend
    assert "cannot connect to the MQTT broker" in backend


def test_doctor_names_the_download_for_a_missing_model(tmp_path: Path, broker: Broker) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[stt]\nengine = "vosk"\n[models]\ndirectory = "{tmp_path / "m"}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "doctor",
            "--config",
            str(config),
            "--skip",
            "audio",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert " FAIL " in _row(result.stdout, "model stt (vosk)")
    assert "fix: assistant models download vosk-model-small-en-us-0.15" in result.stdout


def test_doctor_checks_the_home_assistant_backend(tmp_path: Path) -> None:
    from tests.fake_homeassistant import running
    from tests.test_homeassistant import TOKEN, world

    rows = {}
    with running(world()) as fake:
        for token in (TOKEN, "wrong"):
            result = _doctor(
                tmp_path, free_port(), "--skip", "audio", "--skip", "mqtt", "--skip", "models",
                extra_config=f'[homeassistant]\nenabled = true\nurl = "{fake.url}"\n'
                f'token = "{token}"\n',
            )  # fmt: skip
            assert "Traceback" not in result.stderr
            rows[token] = _row(result.stdout, "device backend")
    assert " ok " in rows[TOKEN]
    assert f"homeassistant at {fake.url}: 15 entities" in rows[TOKEN]
    assert " FAIL " in rows["wrong"]
    assert "refused the token" in rows["wrong"]
