"""`[[satellites]]` and `[satellite_discovery]`: accepted forms and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import ConfigError, Settings
from assistant.config_file import load


def _load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load(path, {})


def test_satellites_are_listed_with_uri_name_and_area(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        '[[satellites]]\nuri = "tcp://192.168.1.40:10700"\nname = "kitchen"\narea = "Kitchen"\n'
        '[[satellites]]\nuri = "tcp://pi-zero.local:10700"\n',
    )
    kitchen, other = settings.satellites
    assert (kitchen.host, kitchen.port, kitchen.area, kitchen.label) == (
        "192.168.1.40",
        10700,
        "Kitchen",
        "kitchen",
    )
    assert other.label == "pi-zero.local:10700"
    assert other.sensitive is False  # a satellite may not unlock doors unless allowed
    assert settings.satellite_discovery.enabled is False  # nothing on the LAN by default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[satellites]]\nuri = "http://kitchen:10700"\n',
            r"key 'satellites\.0\.uri': .*tcp://host:port",
        ),
        ('[[satellites]]\nuri = "tcp://kitchen"\n', r"key 'satellites\.0\.uri': .*tcp://host:port"),
        ('[[satellites]]\nuri = "tcp://kitchen:99999"\n', r"key 'satellites\.0\.uri'"),
        ('[[satellites]]\nname = "kitchen"\n', r"missing key 'satellites\.0\.uri'"),
        ('[[satellites]]\nuri = "tcp://k:1"\nroom = "x"\n', r"unknown key 'satellites\.0\.room'"),
        ("[satellite_discovery]\nenabled = 1.5\n", r"key 'satellite_discovery\.enabled'"),
    ],
)
def test_a_wrong_satellite_key_is_one_line_naming_it(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        _load(tmp_path, text)
    assert "\n" not in str(caught.value)
