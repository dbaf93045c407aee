"""What a discovery config must not contain, checked before it becomes an entity.

Discovery configs are retained messages anyone on the broker can write, so
a config is refused here (one line naming the key) when it would:

- take the shared connection down: a topic MQTT forbids (NUL, control
  characters, a lone surrogate, a wildcard in a topic we publish to, a
  misplaced ``+``/``#``, over the MQTT length limits);
- reach into the assistant's own topics or the discovery configs;
- break every printout of the home: a lone surrogate anywhere, control
  characters or thousands of characters in a name;
- exhaust memory or time: payloads over the size limit, a template that
  does not compile or that breaks the sandbox's limits on a trial render.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from assistant.devices.mqtt import jinja as templates
from assistant.devices.mqtt.discovery_schema import InvalidConfig
from assistant.transports.mqtt_topics import has_wildcard, topic_matches, topic_problem

MAX_NAME_CHARS = 200
MAX_PAYLOAD_CHARS = 4096
MAX_DEPTH = 8

# Topics the assistant publishes to (the rest it subscribes to).
_PUBLISH_TOPICS = ("command_topic", "set_position_topic", "set_fan_speed_topic")


def is_command_key(key: str) -> bool:
    """True for the config keys naming a topic the assistant publishes to."""
    return key.endswith(_PUBLISH_TOPICS)


def _reserved_hit(value: str, prefix: str) -> bool:
    """True if `value` (a topic or filter) is in or covers `prefix/#`."""
    root = prefix.rstrip("/")
    if value == root or value.startswith(root + "/"):
        return True
    # A wildcard filter that would catch our own topics, e.g. "#" or "+/x/#".
    return has_wildcard(value) and topic_matches(value, f"{root}/x/y/z")


def _is_discovery_topic(value: str, discovery_prefix: str | None) -> bool:
    if discovery_prefix is None:
        return False
    root = discovery_prefix.rstrip("/")
    if value == root or (value.startswith(root + "/") and value.endswith("/config")):
        return True
    return has_wildcard(value) and topic_matches(value, f"{root}/light/x/config")


def _walk(value: Any, path: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise InvalidConfig(f"{path} is nested over {MAX_DEPTH} levels")
    if isinstance(value, str):
        bad = next((c for c in value if 0xD800 <= ord(c) <= 0xDFFF), None)
        if bad is not None:
            raise InvalidConfig(f"{path} has a lone surrogate U+{ord(bad):04X}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _walk(key, f"{path} key", depth + 1)
            _walk(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth + 1)


def _check_name(key: str, value: Any) -> None:
    if value is None:
        return
    text = str(value)
    if len(text) > MAX_NAME_CHARS:
        raise InvalidConfig(f"{key} is {len(text)} characters (limit {MAX_NAME_CHARS})")
    bad = next((c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F), None)
    if bad is not None:
        raise InvalidConfig(f"{key} has a control character U+{ord(bad):04X}")


def _check_topics(
    config: Mapping[str, Any], reserved: tuple[str, ...], discovery_prefix: str | None
) -> None:
    topics = [(k, v) for k, v in config.items() if k == "topic" or k.endswith("_topic")]
    for item in config.get("availability") or ():
        if isinstance(item, Mapping):
            topics.append(("availability.topic", item.get("topic")))
    for key, value in topics:
        if not isinstance(value, str) or not value:
            raise InvalidConfig(f"{key} must be a non-empty string")
        problem = topic_problem(value, is_filter=not is_command_key(key))
        if problem is not None:
            raise InvalidConfig(f"{key} {value[:80]!r}: {problem}")
        for prefix in reserved:
            if _reserved_hit(value, prefix):
                raise InvalidConfig(f"{key} {value!r} is in the assistant's own {prefix}# space")
        if _is_discovery_topic(value, discovery_prefix):
            raise InvalidConfig(f"{key} {value!r} is a discovery config topic")


def _check_payloads(config: Mapping[str, Any]) -> None:
    for key, value in config.items():
        if not key.startswith(("payload_", "state_")) or key.endswith("_topic"):
            continue
        if value is not None and len(str(value)) > MAX_PAYLOAD_CHARS:
            raise InvalidConfig(f"{key} is over {MAX_PAYLOAD_CHARS} characters")


def _check_templates(config: Mapping[str, Any]) -> None:
    items = [(k, v) for k, v in config.items() if k.endswith("_template")]
    for index, item in enumerate(config.get("availability") or ()):
        if isinstance(item, Mapping) and item.get("value_template") is not None:
            items.append((f"availability[{index}].value_template", item["value_template"]))
    for key, value in items:
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidConfig(f"{key} must be a string")
        try:
            templates.check(value)
        except templates.TemplateFailed as exc:
            raise InvalidConfig(f"{key}: {exc}") from None


def check_config(
    config: Mapping[str, Any], reserved: Iterable[str] = (), discovery_prefix: str | None = None
) -> None:
    """Raise InvalidConfig (one line naming the key) if the config must not be used."""
    _walk(config, "")
    _check_name("name", config.get("name"))
    device = config.get("device")
    if isinstance(device, Mapping):
        _check_name("device.name", device.get("name"))
        _check_name("device.suggested_area", device.get("suggested_area"))
    _check_topics(config, tuple(reserved), discovery_prefix)
    _check_payloads(config)
    _check_templates(config)
