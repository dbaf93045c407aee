"""Hostile retained discovery configs, for the robustness tests and the reliability bench.

Each is what anyone allowed to publish on the broker could leave there:
control characters and NUL in topics (mosquitto drops a connection that
subscribes or publishes to them), wildcards where MQTT forbids them, huge
strings, template bombs for memory and for time, lone surrogates, invalid
UTF-8, deep JSON, topics reaching into the assistant's own space, and a
config borrowing another entity's command topic.  ``states`` are the
messages that make the installed ones render their templates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

CONTROL = [chr(c) for c in (*range(0x20), 0x7F, 0x85, 0x9F)]

MEMORY_BOMBS = (
    "{{ 'a' * 1000000000 }}",
    "{{ 'a'|center(1000000000) }}",
    "{{ 9**9**9 }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ 'x'|indent(999999999) }}",
    "{{ [1]|batch(999999999)|list }}",
    "{{ (['a' * 60000] * 10000)|join }}",
    "{{ ('a' * 60000).replace('a', 'b' * 60000) }}",
    "{{ 'a'" + "|replace('a','aaaaaaaaaa')" * 9 + " }}",
    "{% set a = 'aaaaaaaaaaaaaaaa' %}" + "{% set a = a ~ a %}" * 40 + "{{ a }}",
    "{{ lipsum(100000) }}",
    "{{ 'a' * (value|int) }}",
    "{{ value * (value|int) }}",
    "{{ range(100000000)|list }}",
    "{{ value_json.x * 999999999 }}",
)
TIME_BOMBS = (
    "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
    "{% for a in range(5000) %}{% for b in range(5000) %}{{ '' }}{% endfor %}{% endfor %}",
    "{% for a in range(value|int) %}{% for b in range(value|int) %}{% endfor %}{% endfor %}",
    "{% for i in range(9999) %}{% for j in range(9999) %}{% for k in range(9999) %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{{ (" * 300 + "1" + ")" * 300 + " }}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
)


@dataclass(frozen=True)
class Hostile:
    """One retained message to leave on the broker."""

    topic: str
    payload: bytes
    what: str


def configs(prefix: str, root: str, borrowed_topic: str | None = None) -> list[Hostile]:
    """Over 300 hostile configs under `prefix`, with topics under `root`."""
    out: list[Hostile] = []

    def add(component: str, what: str, config: dict[str, object] | bytes) -> None:
        object_id = f"hostile_{len(out)}"
        payload = config if isinstance(config, bytes) else json.dumps(config).encode()
        out.append(Hostile(f"{prefix}/{component}/{object_id}/config", payload, what))

    for index, char in enumerate(CONTROL):
        base = f"{root}/ctl{index}"
        add(
            "switch",
            f"state_topic U+{ord(char):04X}",
            {"name": f"Ctl state {index}", "cmd_t": f"{base}/set", "stat_t": f"{base}/s{char}x"},
        )
        add(
            "switch",
            f"command_topic U+{ord(char):04X}",
            {"name": f"Ctl command {index}", "cmd_t": f"{base}/c{char}x", "stat_t": f"{base}/st"},
        )
        add(
            "light",
            f"availability topic U+{ord(char):04X}",
            {"name": f"Ctl avail {index}", "cmd_t": f"{base}/l", "avty_t": f"{base}/a{char}"},
        )
        add(
            "sensor",
            f"name U+{ord(char):04X}",
            {"name": f"Bell{char}Sensor {index}", "stat_t": f"{base}/n"},
        )
        add(
            "cover",
            f"availability list U+{ord(char):04X}",
            {"name": f"Ctl list {index}", "cmd_t": f"{base}/cv", "avty": [{"t": f"{base}/{char}"}]},
        )
        add(
            "fan",
            f"base topic ~ U+{ord(char):04X}",
            {"~": f"{base}/{char}", "name": f"Ctl base {index}", "cmd_t": "~/set", "stat_t": "~/s"},
        )
    for index, topic in enumerate(("a/+/b", "a/#", "#", "+", "a/b#", "x+/y", "a/#/b", "+/+/#")):
        add(
            "switch",
            f"wildcard command topic {topic}",
            {"name": f"Wild {index}", "cmd_t": f"{root}/{topic}", "stat_t": f"{root}/w{index}"},
        )
        add(
            "sensor",
            f"wildcard state topic {topic}",
            {"name": f"Wild sensor {index}", "stat_t": f"{root}/w{index}/{topic}"},
        )
    for index, size in enumerate((1_000, 20_000, 60_000)):
        add("switch", f"{size}-character name", {"name": "N" * size, "cmd_t": f"{root}/big{index}"})
        add(
            "switch",
            f"{size}-character topic",
            {"name": f"Long topic {index}", "cmd_t": f"{root}/" + "t" * size},
        )
        add(
            "switch",
            f"{size}-character payload",
            {"name": f"Long payload {index}", "cmd_t": f"{root}/p{index}", "pl_on": "P" * size},
        )
    add("switch", "70,000-byte config", {"name": "Huge", "cmd_t": f"{root}/h", "x": "x" * 70_000})
    for index, template in enumerate(MEMORY_BOMBS + TIME_BOMBS):
        add(
            "sensor",
            f"value_template bomb {index}",
            {"name": f"Bomb {index}", "stat_t": f"{root}/bomb{index}", "val_tpl": template},
        )
        add(
            "switch",
            f"command_template bomb {index}",
            {
                "name": f"Cmd bomb {index}",
                "cmd_t": f"{root}/cb{index}",
                "cmd_tpl": template,
                "stat_t": f"{root}/cb{index}/s",
                "stat_val_tpl": template,
            },
        )
    for index, text in enumerate(("\ud800", "a\udfffb", "\udc80" * 100)):
        add(
            "light",
            "lone surrogate in the name",
            {"name": f"Sur{text}", "cmd_t": f"{root}/sur{index}"},
        )
        add(
            "light",
            "lone surrogate in a topic",
            {"name": f"Surrogate topic {index}", "cmd_t": f"{root}/sur{text}"},
        )
        add(
            "light",
            "lone surrogate in the device",
            {
                "name": f"Surrogate dev {index}",
                "cmd_t": f"{root}/sd{index}",
                "dev": {"name": text, "ids": [text]},
            },
        )
    for raw in (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80abc"):
        add(
            "switch",
            "invalid UTF-8",
            b'{"name": "Bad ' + raw + b'", "cmd_t": "' + root.encode() + b'/u"}',
        )
    add("switch", "deep JSON", b"[" * 100_000 + b"]" * 100_000)
    add("switch", "deep object", ("{" + '"a":' * 5000 + "1" + "}" * 5000).encode()[:60000])
    add("switch", "not an object", b'"just a string"')
    add(
        "switch",
        "NaN and huge numbers",
        b'{"name": "Nan", "cmd_t": "' + root.encode() + b'/nan", "bri_scl": 1e999}',
    )
    add("switch", "own topic space", {"name": "Spy", "cmd_t": "assistant/x/reply"})
    add("sensor", "listens to everything", {"name": "All", "stat_t": "#"})
    add("switch", "discovery topic", {"name": "Loop", "cmd_t": f"{prefix}/switch/x/config"})
    for index in range(12):
        add(
            "device",
            "device config with bad components",
            {
                "dev": {"ids": [f"hostile-dev-{index}"], "name": f"Hostile device {index}"},
                "o": {"name": "x"},
                "cmps": {
                    "a": {"p": "switch", "cmd_t": f"{root}/dev{index}/\x00"},
                    "b": {"p": "sensor", "stat_t": f"{root}/dev{index}/#/x"},
                    "c": {"p": "nonsense"},
                },
            },
        )
    if borrowed_topic is not None:
        add(
            "light",
            "borrows another entity's command topic",
            {"name": "Porch Light", "cmd_t": borrowed_topic, "pl_on": "UNLOCK", "pl_off": "LOCK"},
        )
    return out


def states(root: str) -> list[tuple[str, bytes]]:
    """State messages for the hostile entities that may have been installed."""
    out: list[tuple[str, bytes]] = []
    for index in range(len(MEMORY_BOMBS) + len(TIME_BOMBS)):
        for payload in (b"x" * 100_000, b'{"x": "yyyy"}', b"1000000000"):
            out.append((f"{root}/bomb{index}", payload))
            out.append((f"{root}/cb{index}/s", payload))
    return out
