"""MQTT topic filters: pure helpers shared by the connection and the discovery parsers."""

from __future__ import annotations


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True if `topic` matches the MQTT subscription filter (`+` and `#` wildcards)."""
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
