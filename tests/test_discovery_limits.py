"""Pure checks: topics MQTT forbids, template limits, who owns a command topic, confirmations."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from assistant.devices.entities import EntityState
from assistant.devices.mqtt import jinja
from assistant.devices.mqtt.claims import CommandTopics
from assistant.devices.mqtt.confirm import confirmable, expectation
from assistant.devices.mqtt.discovery import Discovered, parse_config
from assistant.devices.mqtt.discovery_schema import InvalidConfig, expand
from assistant.simulate import hostile
from assistant.transports.mqtt_topics import payload_problem, topic_problem


def parse(component: str, raw: dict[str, Any], key: str = "x") -> Discovered:
    return parse_config(
        component, expand(raw), key=f"discovery:{component}/{key}", object_id=key,
        reserved=("assistant/",), discovery_prefix="homeassistant",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("topic", "is_filter", "problem"),
    [
        ("a/b", False, None),
        ("a/+/b", True, None),
        ("a/#", True, None),
        ("a/\x00", False, "control character U+0000"),
        ("a/\x01b", True, "control character U+0001"),
        ("a/\x7f", False, "control character U+007F"),
        ("a/\x85", False, "control character U+0085"),
        ("a/\ud800", False, "lone surrogate"),
        ("a/\ufffe", False, "non-character"),
        ("a/+/b", False, "wildcard"),
        ("a/#", False, "wildcard"),
        ("a/#/b", True, "'#' must be a whole last level"),
        ("a/b#", True, "'#' must be a whole last level"),
        ("a+/b", True, "'+' must be a whole level"),
        ("", False, "empty"),
        ("t" * 2000, False, "2000 characters"),
        ("/".join("x" * 70), False, "70 levels"),
    ],
)
def test_topics_mqtt_forbids_are_named(topic: str, is_filter: bool, problem: str | None) -> None:
    found = topic_problem(topic, is_filter=is_filter)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_payload_limits() -> None:
    assert payload_problem("ON") is None
    assert payload_problem(b"\x00\xff") is None  # payloads are bytes to MQTT
    assert "surrogate" in (payload_problem("a\udc80") or "")
    assert "limit" in (payload_problem("x" * 300_000) or "")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": "L", "cmd_t": "a/\x00/set"}, "command_topic 'a/\\x00/set': topic has a control"),
        ({"name": "L", "cmd_t": "a/set", "stat_t": "a/s\x01"}, "state_topic"),
        ({"name": "L", "cmd_t": "a/set", "avty": [{"t": "a/\x02"}]}, "availability.topic"),
        ({"name": "L", "cmd_t": "a/+/set"}, "wildcard"),
        ({"name": "L", "cmd_t": "a", "stat_t": "a/#/b"}, "'#' must be a whole last level"),
        ({"name": "N" * 300, "cmd_t": "a"}, "name is 300 characters"),
        ({"name": "Bell\x07", "cmd_t": "a"}, "name has a control character U+0007"),
        ({"name": "\ud800", "cmd_t": "a"}, "name has a lone surrogate"),
        ({"name": "L", "cmd_t": "a", "dev": {"name": "x\udfff"}}, "device.name has a lone"),
        ({"name": "L", "cmd_t": "a", "pl_on": "P" * 5000}, "payload_on is over"),
        ({"name": "L", "cmd_t": "a", "cmd_tpl": "{{ 'a' * 10**9 }}"}, "command_template"),
        ({"name": "L", "cmd_t": "a", "stat_t": "s", "stat_val_tpl": "{{ 9**9**9 }}"}, "bits"),
    ],
)
def test_bad_configs_are_refused_naming_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfig, match=re.escape(message)) as info:
        parse("switch", raw)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("template", hostile.MEMORY_BOMBS + hostile.TIME_BOMBS)
def test_template_bombs_stop_quickly(template: str) -> None:
    started = time.monotonic()
    failed = 0
    for value in ("1", "1000000000", '{"x": "yyyy"}', "9999"):
        try:
            jinja.render_value(template, value)
        except jinja.TemplateFailed:
            failed += 1
    assert failed >= 1
    assert time.monotonic() - started < 5  # bounded, not seconds per render


def test_a_template_that_broke_a_limit_is_refused_at_once_after() -> None:
    template = (
        f"{{# {uuid.uuid4()} #}}"
        "{% for a in range(value|int) %}{% for b in range(value|int) %}{% endfor %}{% endfor %}"
    )
    assert jinja.render_value(template, "3") == ""
    with pytest.raises(jinja.TemplateLimit, match="ran over"):
        jinja.render_value(template, "9999")
    with pytest.raises(jinja.TemplateLimit, match="refused"):
        jinja.render_value(template, "3")


def test_ordinary_templates_still_work() -> None:
    assert jinja.render_value("{{ value_json.t | round(1) }}", '{"t": 21.456}') == "21.5"
    assert jinja.render_value("{{ value_json.l | join(',') }}", '{"l": ["a", "b"]}') == "a,b"
    assert jinja.render_value("{{ '%.1f' | format(value | float) }}", "3.14159") == "3.1"
    assert jinja.render_value("{% for i in range(3) %}{{ i }}{% endfor %}", "") == "012"
    assert jinja.render_command("{{ {'state': value} | to_json }}", "ON") == '{"state":"ON"}'


def test_claims_sensitive_wins_first_keeps_same_device_shares() -> None:
    claims = CommandTopics()
    lamp = parse("light", {"name": "Lamp", "cmd_t": "t/lamp"}, "lamp")
    claims.take(lamp, "discovery:light/lamp")
    other = parse("light", {"name": "Other", "cmd_t": "t/lamp"}, "other")
    verdict = claims.judge(other, "discovery:light/other")
    assert verdict.refused is not None
    assert "light.other" in verdict.refused
    assert "light.lamp" in verdict.refused
    lock = parse("lock", {"name": "Door", "cmd_t": "t/lamp"}, "door")
    verdict = claims.judge(lock, "discovery:lock/door")
    assert verdict.refused is None
    assert [c.entity_id for c in verdict.evict] == ["light.lamp"]
    dev = {"ids": ["plug-1"], "name": "Plug"}
    a = parse("switch", {"name": "A", "cmd_t": "p/set", "dev": dev}, "a")
    b = parse("switch", {"name": "B", "cmd_t": "p/set", "dev": dev}, "b")
    claims.take(a, "discovery:switch/a")
    assert claims.judge(b, "discovery:switch/b").refused is None
    claims.release("discovery:switch/a")
    assert claims.judge(other, "discovery:light/other").refused is not None  # lamp still there


def test_what_confirms_a_command() -> None:
    light = parse("light", {"name": "L", "cmd_t": "l/set", "stat_t": "l/s",
                            "bri_cmd_t": "l/b/set", "bri_stat_t": "l/b"})  # fmt: skip
    check = expectation(light, "set_brightness", {"brightness": 40})
    assert check is not None
    assert check(EntityState("on", {"brightness_pct": 40}))
    assert not check(EntityState("on", {"brightness_pct": 41}))  # a neighbour's value
    assert not check(EntityState("off", {"brightness_pct": 40}))
    lock = parse("lock", {"name": "D", "cmd_t": "d/set", "stat_t": "d/s"})
    check = expectation(lock, "unlock", {})
    assert check is not None
    assert check(EntityState("unlocking"))
    assert not check(EntityState("locked"))
    assert confirmable(light)
    assert not confirmable(parse("switch", {"name": "S", "cmd_t": "s/set"}))
    assert not confirmable(parse("switch", {"name": "S", "cmd_t": "s", "stat_t": "x", "opt": True}))
