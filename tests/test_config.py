"""Config: file discovery, validation messages naming the key, env overrides."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import ConfigError
from assistant.config_file import load


def test_defaults_need_no_file(tmp_path: Path) -> None:
    settings = load(None, {})
    assert settings.mqtt.port == 1883
    assert settings.vad.silence_seconds is None
    assert settings.source is None


def test_explicit_file_then_env_then_system(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    a.write_text("[mqtt]\nport = 1884\n")
    b = tmp_path / "b.toml"
    b.write_text("[mqtt]\nport = 1885\n")
    assert load(a, {"ASSISTANT_CONFIG": str(b)}).mqtt.port == 1884
    assert load(None, {"ASSISTANT_CONFIG": str(b)}).mqtt.port == 1885


def test_unknown_key_named_with_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[mqtt]\nhots = 'x'\n")
    with pytest.raises(ConfigError, match=r"c\.toml: unknown key 'mqtt\.hots'"):
        load(path, {})


def test_wrong_type_and_range_named(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[mqtt]\nport = 'abc'\n")
    with pytest.raises(ConfigError, match=r"key 'mqtt\.port'"):
        load(path, {})
    path.write_text("[vad]\nsilence_seconds = -1\n")
    with pytest.raises(ConfigError, match=r"key 'vad\.silence_seconds'"):
        load(path, {})


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[mqtt\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path, {})
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml", {})


def test_env_overrides_mqtt_host_port(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[mqtt]\nhost = 'broker'\nport = 1\n")
    env = {"ASSISTANT_MQTT_HOST": "10.1.2.3", "ASSISTANT_MQTT_PORT": "2883"}
    settings = load(path, env)
    assert (settings.mqtt.host, settings.mqtt.port) == ("10.1.2.3", 2883)
    with pytest.raises(ConfigError, match="ASSISTANT_MQTT_PORT"):
        load(path, {"ASSISTANT_MQTT_PORT": "x"})


def test_cli_config_show_and_bad_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[stt]\nengine = 'vosk'\n\n[entities.'light.kitchen']\naliases = ['big light']\n"
    )
    assert main(["config", "show", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert 'engine = "vosk"' in out
    assert '[entities."light.kitchen"]' in out
    path.write_text("[stt]\nengin = 'vosk'\n")
    assert main(["config", "show", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown key 'stt.engin'" in err


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m assistant.cli ...` in a subprocess with only `env` set."""
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True, text=True, timeout=60, check=False, env={**base, **(env or {})},
    )  # fmt: skip


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_config_show_prints_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[mqtt]\nusername = 'assistant'\npassword = 'hunter2-mqtt'\n"
        "[homeassistant]\ntoken = 'eyJhbGciOi-ha-token'\n"
    )
    result = cli("config", "show", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert "eyJhbGciOi" not in result.stdout + result.stderr
    assert 'password = "***"' in result.stdout
    assert 'token = "***"' in result.stdout
    assert 'username = "assistant"' in result.stdout


def test_a_bad_secret_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[mqtt]\npassword = 123456789\n")
    line = _one_line_error(cli("config", "show", "--config", str(path)))
    assert "mqtt.password" in line
    assert "123456789" not in line


def test_env_value_is_blamed_on_the_variable(tmp_path: Path) -> None:
    line = _one_line_error(cli("config", "show", env={"ASSISTANT_MQTT_PORT": "70000"}))
    assert line.startswith("assistant: environment variable ASSISTANT_MQTT_PORT: key 'mqtt.port'")
    assert "built-in defaults" not in line
    path = tmp_path / "c.toml"
    path.write_text("[mqtt]\nport = 70000\n")
    line = _one_line_error(cli("config", "show", "--config", str(path)))
    assert line.startswith(f"assistant: {path}: key 'mqtt.port'")


def test_empty_host_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[mqtt]\nhost = ""\n')
    line = _one_line_error(cli("devices", "--config", str(path)))
    assert f"{path}: key 'mqtt.host'" in line


def test_missing_tls_file_names_key_and_path(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    missing = tmp_path / "no-such-ca.pem"
    path.write_text(f"[mqtt]\ntls = true\nca_file = '{missing}'\n")
    line = _one_line_error(cli("devices", "--config", str(path)))
    assert "key 'mqtt.ca_file'" in line
    assert str(missing) in line


def test_log_lines_are_escaped_and_secrets_masked() -> None:
    import io
    import logging

    from assistant.textsafe import SafeLogFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SafeLogFilter(["hunter2"]))
    logger = logging.getLogger("test-safe-log")
    logger.addHandler(handler)
    try:
        logger.warning("device %r named %s; pw=%s", "x", "Porch\x1b[2J\x07\ud800", "hunter2")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "hunter2" not in text
    assert "pw=***" in text
    text.encode("utf-8")


def test_a_missing_file_named_by_the_environment_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    line = _one_line_error(cli("config", "show", env={"ASSISTANT_CONFIG": str(missing)}))
    assert (
        line
        == f"assistant: environment variable ASSISTANT_CONFIG: {missing}: config file not found"
    )
