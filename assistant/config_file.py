"""Where the configuration comes from: the file, the environment, the checks.

`assistant.config` knows the keys; this module finds the file (``--config``,
``$ASSISTANT_CONFIG``, ``/etc/assistant/config.toml``), applies the
environment overrides, remembers which key each variable set (so an error
blames the variable, not the file), and checks the files the settings name.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assistant.config import SYSTEM_CONFIG, ConfigError, Settings, parse

ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "ASSISTANT_MQTT_HOST": ("mqtt", "host"),
    "ASSISTANT_MQTT_PORT": ("mqtt", "port"),
}
"""Environment variables that override one key each."""


def _check_files(settings: Settings, origin: str) -> None:
    """TLS files must exist now, not fail later as a bare "No such file"."""
    mqtt = settings.mqtt
    if not (mqtt.enabled and mqtt.tls):
        return
    for key in ("ca_file", "cert_file", "key_file"):
        path: Path | None = getattr(mqtt, key)
        if path is not None and not path.is_file():
            raise ConfigError(f"{origin}: key 'mqtt.{key}': file not found ({path})")
        if path is not None and not os.access(path, os.R_OK):
            raise ConfigError(f"{origin}: key 'mqtt.{key}': file not readable ({path})")


def find_config_file(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """--config, else $ASSISTANT_CONFIG, else /etc/assistant/config.toml if present."""
    if explicit is not None:
        return explicit
    from_env = environ.get("ASSISTANT_CONFIG")
    if from_env:
        return Path(from_env)
    if SYSTEM_CONFIG.is_file():
        return SYSTEM_CONFIG
    return None


def load(explicit: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, merge environment overrides, and validate the configuration."""
    env = os.environ if environ is None else environ
    path = find_config_file(explicit, env)
    data: dict[str, Any] = {}
    origin = "built-in defaults"
    if path is not None:
        origin = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            named_by = "" if explicit is not None else "environment variable ASSISTANT_CONFIG: "
            raise ConfigError(f"{named_by}{path}: config file not found") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: config file is not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    from_env: dict[tuple[str, ...], str] = {}
    for variable, (section, key) in ENV_OVERRIDES.items():
        value = env.get(variable)
        table = data.setdefault(section, {})
        if not value or not isinstance(table, dict):
            continue  # a non-table section fails validation below, naming the file
        if key == "port" and not value.isdigit():
            raise ConfigError(f"environment variable {variable}: not a port number ({value!r})")
        table[key] = int(value) if key == "port" else value
        from_env[(section, key)] = variable
    settings = parse({k: v for k, v in data.items() if v != {}}, origin, from_env)
    _check_files(settings, origin)
    return settings.model_copy(update={"source": path})
