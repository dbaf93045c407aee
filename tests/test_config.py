"""Config: file discovery, validation messages naming the key, env overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import ConfigError, load


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
