"""MQTT topics and filters: pure helpers shared by the connection and the discovery parsers.

``topic_problem`` and ``payload_problem`` say in one phrase why a topic or
payload must not go to the broker.  Everything they refuse either makes
paho raise before sending (wildcards in a publish topic, a topic over
65,535 bytes, a lone surrogate) or makes mosquitto drop the whole
connection (NUL, C0 and C1 control characters, DEL): one bad device config
must be stopped here, before it can take the shared connection down.
"""

from __future__ import annotations

MAX_TOPIC_BYTES = 65_535  # the MQTT length prefix is two bytes
# Longer than any real device topic; a config that uses more is hostile.
MAX_TOPIC_CHARS = 1024
MAX_LEVELS = 64
MAX_PAYLOAD_BYTES = 256 * 1024  # device commands are a few bytes; JSON ones a few hundred
SHARE_PREFIX = "$share/"
"""A shared subscription, ``$share/<group>/<filter>``: the broker hands each
matching message to one subscriber of the group (MQTT 5, and mosquitto 2
for MQTT 3.1.1 clients too)."""


def shared_filter(group: str, topic_filter: str) -> str:
    """The shared subscription of `group` to `topic_filter`."""
    return f"{SHARE_PREFIX}{group}/{topic_filter}"


def is_shared(topic_filter: str) -> bool:
    """True for ``$share/<group>/<filter>``."""
    return topic_filter.startswith(SHARE_PREFIX)


def _unshared(topic_filter: str) -> str:
    """The filter a shared subscription matches topics with (messages carry the plain topic)."""
    if not is_shared(topic_filter):
        return topic_filter
    return topic_filter.removeprefix(SHARE_PREFIX).partition("/")[2]


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True if `topic` matches the MQTT subscription filter (`+` and `#` wildcards)."""
    topic_filter = _unshared(topic_filter)
    if topic_filter == topic:
        return True
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_parts = topic_filter.split("/")
    topic_parts = topic.split("/")
    for index, part in enumerate(filter_parts):
        if part == "#":
            return True
        if index >= len(topic_parts):
            return False
        if part not in ("+", topic_parts[index]):
            return False
    return len(filter_parts) == len(topic_parts)


def has_wildcard(topic_filter: str) -> bool:
    """True for filters with `+` or `#`."""
    return "+" in topic_filter or "#" in topic_filter


def _bad_character(text: str) -> str | None:
    for char in text:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F:
            return f"control character U+{code:04X}"
        if 0xD800 <= code <= 0xDFFF:
            return f"lone surrogate U+{code:04X}"
        if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
            return f"non-character U+{code:04X}"
    return None


def topic_problem(topic: str, *, is_filter: bool = False) -> str | None:
    """Why `topic` cannot be published to (or, with is_filter, subscribed to); None if fine."""
    if not isinstance(topic, str) or not topic:
        return "empty topic"
    if len(topic) > MAX_TOPIC_CHARS:
        return f"topic of {len(topic)} characters (limit {MAX_TOPIC_CHARS})"
    bad = _bad_character(topic)
    if bad is not None:
        return f"topic has a {bad}"
    if len(topic.encode("utf-8")) > MAX_TOPIC_BYTES:
        return "topic is over 65,535 bytes"
    levels = topic.split("/")
    if len(levels) > MAX_LEVELS:
        return f"topic has {len(levels)} levels (limit {MAX_LEVELS})"
    if not is_filter:
        return "topic has a wildcard (+ or #)" if has_wildcard(topic) else None
    if is_shared(topic):
        group, _, rest = topic.removeprefix(SHARE_PREFIX).partition("/")
        if not group or has_wildcard(group):
            return "a shared subscription needs a group name without + or #"
        if not rest:
            return "a shared subscription needs a filter after its group"
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "'#' must be a whole last level"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def payload_problem(payload: str | bytes) -> str | None:
    """Why `payload` cannot be sent; None if fine."""
    if isinstance(payload, str):
        bad = next((c for c in payload if 0xD800 <= ord(c) <= 0xDFFF), None)
        if bad is not None:
            return f"payload has a lone surrogate U+{ord(bad):04X}"
        if len(payload) > MAX_PAYLOAD_BYTES:
            return f"payload of {len(payload)} characters (limit {MAX_PAYLOAD_BYTES})"
        size = len(payload.encode("utf-8"))
    else:
        size = len(payload)
    if size > MAX_PAYLOAD_BYTES:
        return f"payload of {size} bytes (limit {MAX_PAYLOAD_BYTES})"
    return None
