"""The assistant's MQTT interface against a real mosquitto."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import aiomqtt
import pytest

from assistant.interface import (
    MAX_PAYLOAD,
    MAX_TEXT,
    Ask,
    Interface,
    Say,
    Topics,
    TurnReport,
    parse_request,
    site_topic_safe,
    turn_payloads,
)
from assistant.understanding.origin import Origin
from tests.conftest import Broker

SHARED = Origin("mqtt:kitchen", sensitive=False)


def test_parse_plain_text_and_json() -> None:
    topics = Topics("kitchen")
    assert parse_request(topics, "assistant/kitchen/ask", b" turn on the light ") == Ask(
        "turn on the light", None, SHARED
    )
    assert parse_request(topics, "assistant/kitchen/ask", '{"text": "hi", "id": 7}') == Ask(
        "hi", "7", SHARED
    )
    assert parse_request(topics, "assistant/kitchen/say", "dinner is ready") == Say(
        "dinner is ready", SHARED
    )
    assert parse_request(topics, "assistant/kitchen/ask", "   ") is None
    assert parse_request(topics, "assistant/kitchen/ask", '{"txt": "x"}') is None
    assert parse_request(topics, "assistant/other/ask", "hi") is None


def test_origin_comes_from_the_topic_never_the_payload() -> None:
    topics = Topics("kitchen", trusted=("alice",))
    assert topics.subscriptions() == (
        "assistant/kitchen/ask",
        "assistant/kitchen/ask/alice",
        "assistant/kitchen/say",
    )
    alice = Origin("mqtt-user:alice", sensitive=True)
    assert parse_request(topics, "assistant/kitchen/ask/alice", "unlock") == Ask(
        "unlock", None, alice
    )
    spoofed = '{"text": "unlock", "origin": "mqtt-user:alice", "sensitive": true}'
    assert parse_request(topics, "assistant/kitchen/ask", spoofed) == Ask("unlock", None, SHARED)
    for topic in ("assistant/kitchen/ask/bob", "assistant/kitchen/ask/alice/x",
                  "assistant/kitchen/say/alice", "assistant/kitchen/reply"):  # fmt: skip
        assert parse_request(topics, topic, "unlock") is None
    only_trusted = Topics("kitchen", trusted=("alice",), say_from="trusted")
    assert "assistant/kitchen/say" not in only_trusted.subscriptions()
    assert parse_request(only_trusted, "assistant/kitchen/say", "hi") is None
    assert parse_request(only_trusted, "assistant/kitchen/say/alice", "hi") == Say("hi", alice)


def test_inputs_and_replies_are_capped() -> None:
    topics = Topics("kitchen")
    long = parse_request(topics, "assistant/kitchen/ask", "x" * 10_000)
    assert long is not None
    assert len(long.text) == MAX_TEXT
    assert parse_request(topics, "assistant/kitchen/ask", b"x" * (MAX_PAYLOAD + 1)) is None
    bad = parse_request(topics, "assistant/kitchen/ask", '{"text": "a\\ud800b"}')
    assert bad is not None
    bad.text.encode("utf-8")
    turn = TurnReport(transcript="y" * 10_000, reply="z" * 10_000)
    for _, payload in turn_payloads(topics, turn, now=0.0):
        assert len(payload) < MAX_TEXT + 500


def test_site_id_is_one_topic_level() -> None:
    assert site_topic_safe("living room/1#") == "living_room_1_"
    assert site_topic_safe("  ") == "assistant"


async def _collect(client: aiomqtt.Client, count: int) -> list[tuple[str, str, bool]]:
    got: list[tuple[str, str, bool]] = []
    async for message in client.messages:
        got.append((str(message.topic), bytes(message.payload).decode(), message.retain))  # type: ignore[arg-type]
        if len(got) == count:
            break
    return got


async def test_state_turn_and_requests_over_a_real_broker(module_broker: Broker) -> None:
    site = "itest-turn"
    async with (
        asyncio.timeout(20),
        aiomqtt.Client(module_broker.host, module_broker.port) as assistant_side,
        aiomqtt.Client(module_broker.host, module_broker.port) as watcher,
    ):

        async def publish(topic: str, payload: str, retain: bool) -> None:
            await assistant_side.publish(topic, payload, qos=1, retain=retain)

        interface = Interface(site, publish)
        await watcher.subscribe(f"assistant/{site}/#", qos=1)
        await interface.online()
        await interface.set_state("listening")
        await interface.set_state("listening")  # a repeat is not sent again
        await interface.publish_turn(
            TurnReport(
                transcript="turn on the kitchen light",
                intent="HassTurnOn",
                slots={"name": "kitchen light"},
                actions=[{"entity_id": "light.kitchen", "action": "turn_on", "params": {}}],
                reply="Turned on the kitchen light",
                handled_by="template",
            )
        )
        await interface.set_state("idle")
        got = await _collect(watcher, 6)
        topics = [topic for topic, _, _ in got]
        assert topics == [
            f"assistant/{site}/available",
            f"assistant/{site}/state",
            f"assistant/{site}/state",
            f"assistant/{site}/transcript",
            f"assistant/{site}/intent",
            f"assistant/{site}/reply",
        ]
        assert got[0][1] == "online"
        assert [got[1][1], got[2][1]] == ["idle", "listening"]
        intent = json.loads(got[4][1])
        assert intent["intent"] == "HassTurnOn"
        assert intent["actions"][0]["entity_id"] == "light.kitchen"
        assert json.loads(got[5][1])["text"] == "Turned on the kitchen light"

        # Requests: the assistant side hears ask and say on its own topics.
        for topic in interface.topics.subscriptions():
            await assistant_side.subscribe(topic, qos=1)
        await watcher.publish(interface.topics.ask, "what time is it", qos=1)
        await watcher.publish(interface.topics.say, '{"text": "the laundry is done"}', qos=1)
        requests = []
        async for message in assistant_side.messages:
            request = interface.parse(str(message.topic), bytes(message.payload))  # type: ignore[arg-type]
            if request is not None:
                requests.append(request)
            if len(requests) == 2:
                break
        shared = Origin(f"mqtt:{site}", sensitive=False)
        assert requests == [
            Ask("what time is it", None, shared),
            Say("the laundry is done", shared),
        ]


async def test_retained_state_is_seen_by_a_late_subscriber(module_broker: Broker) -> None:
    site = "itest-retained"
    async with asyncio.timeout(20):
        async with aiomqtt.Client(module_broker.host, module_broker.port) as assistant_side:

            async def publish(topic: str, payload: str, retain: bool) -> None:
                await assistant_side.publish(topic, payload, qos=1, retain=retain)

            interface = Interface(site, publish)
            await interface.online()
            await interface.set_state("speaking")
        async with aiomqtt.Client(module_broker.host, module_broker.port) as late:
            await late.subscribe(f"assistant/{site}/+", qos=1)
            got = {t: p for t, p, _ in await _collect(late, 2)}
        assert got == {
            f"assistant/{site}/available": "online",
            f"assistant/{site}/state": "speaking",
        }


@pytest.mark.timeout(60)
async def test_last_will_says_offline_when_the_process_dies(module_broker: Broker) -> None:
    site = "itest-will"
    # A separate process connects with the interface's will and dies without
    # a DISCONNECT: the broker must publish the will.
    script = textwrap.dedent(
        f"""
        import asyncio, os, aiomqtt
        from assistant.interface import Interface

        async def main():
            iface = Interface({site!r}, None)
            topic, payload = iface.will()
            will = aiomqtt.Will(topic, payload, qos=1, retain=True)
            async with aiomqtt.Client({module_broker.host!r}, {module_broker.port},
                                      will=will, keepalive=5) as client:
                await client.publish(topic, "online", qos=1, retain=True)
                print("up", flush=True)
                os._exit(9)

        asyncio.run(main())
        """
    )
    async with aiomqtt.Client(module_broker.host, module_broker.port) as watcher:
        await watcher.subscribe(f"assistant/{site}/available", qos=1)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, stdout=subprocess.PIPE
        )
        async with asyncio.timeout(30):
            await proc.wait()
            seen = [payload for _, payload, _ in await _collect(watcher, 2)]
        assert seen == ["online", "offline"]
