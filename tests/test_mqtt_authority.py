"""Who may ask for what over MQTT, against a mosquitto with a password file and an ACL.

The broker's ACL is what makes a per-user topic trustworthy: only user
`alice` may publish to ``assistant/<site>/ask/alice``.  These tests run a
real mosquitto configured as README's "Who may unlock the door" says and
check what reaches the assistant, and with which origin.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from assistant.config import MqttConfig
from assistant.interface import BUSY_REPLY, Ask, Interface, Request, Say
from assistant.understanding.origin import Origin
from tests.conftest import Broker, running_broker

USERS = {"assistant": "pw-assistant", "fleet": "pw-fleet", "alice": "pw-alice", "bob": "pw-bob"}

# The ACL of README's "Who may unlock the door", plus the simulated devices.
ACL = """\
user assistant
topic readwrite #

user fleet
topic readwrite #

pattern write assistant/+/ask
pattern write assistant/+/say
pattern read assistant/#
pattern write assistant/+/ask/%u
pattern write assistant/+/say/%u
"""


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[Broker]:
    """mosquitto with users (USERS), no anonymous access, and the README's ACL."""
    passwords = tmp_path / "passwd"
    passwords.write_text("", encoding="utf-8")
    for user, password in USERS.items():
        subprocess.run(
            ["mosquitto_passwd", "-b", str(passwords), user, password],
            check=True,
            capture_output=True,
        )
    acl = tmp_path / "acl"
    acl.write_text(ACL, encoding="utf-8")
    # `user root`: mosquitto reads these files after dropping privileges, and
    # pytest's tmp_path is private to this user.
    settings = (
        f"allow_anonymous false\npersistence false\n"
        f"password_file {passwords}\nacl_file {acl}\nuser root\n"
    )
    with running_broker(tmp_path, settings) as broker:
        yield broker


@asynccontextmanager
async def as_user(broker: Broker, user: str) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(
        broker.host, broker.port, username=user, password=USERS[user]
    ) as client:
        yield client


async def _requests(client: aiomqtt.Client, interface: Interface, count: int) -> list[Request]:
    found: list[Request] = []
    async for message in client.messages:
        request = interface.parse(str(message.topic), bytes(message.payload))  # type: ignore[arg-type]
        if request is not None:
            found.append(request)
        if len(found) == count:
            break
    return found


async def test_only_alice_reaches_alices_topic_and_the_shared_topic_is_untrusted(
    acl_broker: Broker,
) -> None:
    site = f"s{uuid.uuid4().hex[:6]}"

    async def no_publish(topic: str, payload: str, retain: bool) -> None:
        raise AssertionError("nothing is published here")

    interface = Interface(site, no_publish, trusted_users=["alice"])
    async with (
        asyncio.timeout(20),
        as_user(acl_broker, "assistant") as assistant,
        as_user(acl_broker, "bob") as bob,
        as_user(acl_broker, "alice") as alice,
    ):
        for topic in interface.topics.subscriptions():
            await assistant.subscribe(topic, qos=1)
        # Bob tries alice's topic: the broker drops it (QoS 1 still acknowledged).
        await bob.publish(f"assistant/{site}/ask/alice", "unlock the front door", qos=1)
        await bob.publish(f"assistant/{site}/ask/alice", "yes", qos=1)
        # Then the shared topic; one client's messages arrive in order, so had
        # the broker let the first two through they would be seen first.
        await bob.publish(f"assistant/{site}/ask", '{"text": "unlock the front door", "id": 1}')
        first = await _requests(assistant, interface, 1)
        await alice.publish(f"assistant/{site}/ask/alice", "unlock the front door", qos=1)
        second = await _requests(assistant, interface, 1)
    assert first == [Ask("unlock the front door", "1", Origin(f"mqtt:{site}", sensitive=False))]
    assert second == [Ask("unlock the front door", None, Origin("mqtt-user:alice", sensitive=True))]


async def test_say_from_trusted_users_only(acl_broker: Broker) -> None:
    site = f"s{uuid.uuid4().hex[:6]}"

    async def no_publish(topic: str, payload: str, retain: bool) -> None:
        raise AssertionError("nothing is published here")

    interface = Interface(site, no_publish, trusted_users=["alice"], say_from="trusted")
    assert f"assistant/{site}/say" not in interface.topics.subscriptions()
    async with (
        asyncio.timeout(20),
        as_user(acl_broker, "assistant") as assistant,
        as_user(acl_broker, "bob") as bob,
        as_user(acl_broker, "alice") as alice,
    ):
        await assistant.subscribe(f"assistant/{site}/#", qos=1)
        await bob.publish(f"assistant/{site}/say", "the door is locked", qos=1)
        await bob.publish(f"assistant/{site}/say/alice", "the door is locked", qos=1)
        await alice.publish(f"assistant/{site}/say/alice", "dinner is ready", qos=1)
        got = await _requests(assistant, interface, 1)
    assert got == [Say("dinner is ready", Origin("mqtt-user:alice", sensitive=True))]


async def test_a_full_queue_answers_busy_with_each_id(acl_broker: Broker) -> None:
    site = f"s{uuid.uuid4().hex[:6]}"
    async with (
        asyncio.timeout(20),
        as_user(acl_broker, "assistant") as assistant,
        as_user(acl_broker, "bob") as bob,
    ):

        async def publish(topic: str, payload: str, retain: bool) -> None:
            await assistant.publish(topic, payload, qos=1, retain=retain)

        interface = Interface(site, publish)
        queue: asyncio.Queue[Request] = asyncio.Queue(2)
        await bob.subscribe(f"assistant/{site}/reply", qos=1)
        await assistant.subscribe(f"assistant/{site}/ask", qos=1)
        for n in range(10):
            await bob.publish(f"assistant/{site}/ask", json.dumps({"text": "hi", "id": n}), qos=1)
        for request in await _requests(assistant, interface, 10):
            interface.offer(request, queue)
        busy = []
        async for message in bob.messages:
            busy.append(json.loads(bytes(message.payload)))  # type: ignore[arg-type]
            if len(busy) == 8:
                break
    assert queue.qsize() == 2
    assert interface.dropped == 8
    assert sorted(int(b["id"]) for b in busy) == list(range(2, 10))
    assert {b["text"] for b in busy} == {BUSY_REPLY}


# --------------------------------------------------------------- end to end


def _config(tmp_path: Path, broker: Broker, prefix: str, site: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'username = "assistant"\npassword = "{USERS["assistant"]}"\n'
        f'[discovery]\nprefix = "{prefix}"\n[zigbee2mqtt]\nenabled = false\n'
        f'[site]\nid = "{site}"\nmqtt_trusted_users = ["alice"]\n'
        '[understanding]\nllm = "off"\n',
        encoding="utf-8",
    )
    return config


async def _reply(client: aiomqtt.Client, wanted_id: str) -> str:
    async for message in client.messages:
        if str(message.topic).endswith("/reply"):
            data = json.loads(bytes(message.payload))  # type: ignore[arg-type]
            if data.get("id") == wanted_id:
                return str(data["text"])
    raise AssertionError("no reply")


async def _wait_idle(client: aiomqtt.Client) -> None:
    async for message in client.messages:
        if str(message.topic).endswith("/state") and bytes(message.payload) == b"idle":  # type: ignore[arg-type]
            return


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_a_second_user_cannot_unlock_with_or_without_yes(
    tmp_path: Path, acl_broker: Broker
) -> None:
    from assistant.simulate import Fleet, load_example_home

    prefix, site = f"ha-{uuid.uuid4().hex[:6]}", f"s{uuid.uuid4().hex[:6]}"
    fleet_mqtt = MqttConfig(
        host=acl_broker.host, port=acl_broker.port, username="fleet", password=USERS["fleet"]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    async with (
        Fleet(load_example_home(), fleet_mqtt, prefix) as fleet,
        as_user(acl_broker, "bob") as bob,
        as_user(acl_broker, "alice") as alice,
    ):
        await bob.subscribe(f"assistant/{site}/#", qos=1)
        await alice.subscribe(f"assistant/{site}/reply", qos=1)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assistant.cli", "run", "--input", "-", "--no-wake",
            "--config", str(_config(tmp_path, acl_broker, prefix, site)),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        try:
            async with asyncio.timeout(180):
                await _wait_idle(bob)
                shared = f"assistant/{site}/ask"
                for n, text in enumerate(("unlock the front door", "yes", "open the garage door")):
                    await bob.publish(shared, json.dumps({"text": text, "id": f"b{n}"}), qos=1)
                    await _reply(bob, f"b{n}")
                await bob.publish(shared, json.dumps({"text": "yes", "id": "b3"}), qos=1)
                await _reply(bob, "b3")
                # Bob cannot borrow alice's topic either.
                await bob.publish(f"{shared}/alice", "unlock the front door", qos=1)
                await bob.publish(f"{shared}/alice", "yes", qos=1)
                # Requests are handled in order: once this is answered, those would have been.
                await bob.publish(shared, json.dumps({"text": "what time is it", "id": "b4"}))
                await _reply(bob, "b4")
                sensitive = {"lock.front_door", "cover.garage_door"}
                assert [r for r in fleet.received if r.entity_id in sensitive] == []
                # Alice, on her own topic, can: after her "yes" the door unlocks.
                await alice.publish(
                    f"{shared}/alice", '{"text": "unlock the front door", "id": "a0"}'
                )
                await _reply(alice, "a0")
                await alice.publish(f"{shared}/alice", '{"text": "yes", "id": "a1"}')
                await _reply(alice, "a1")
                await fleet.wait_for_state("lock.front_door", "unlocked")
        finally:
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await proc.communicate()


@pytest.mark.parametrize(("user", "password"), [("bob", "wrong"), ("mallory", "pw"), (None, None)])
def test_ask_on_a_broker_that_refuses_it_is_one_line(
    tmp_path: Path, acl_broker: Broker, user: str | None, password: str | None
) -> None:
    config = tmp_path / "config.toml"
    creds = f'username = "{user}"\npassword = "{password}"\n' if user else ""
    config.write_text(
        f'[mqtt]\nhost = "{acl_broker.host}"\nport = {acl_broker.port}\n{creds}'
        '[understanding]\nllm = "off"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", "--json", "turn on the kitchen light",
         "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refused" in lines[0]
    assert "wrong" not in lines[0]


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_burst_of_asks_gets_a_reply_for_every_one(
    tmp_path: Path, acl_broker: Broker
) -> None:
    """`assistant run`: 200 asks at once; each is answered or told "busy", none is silent."""
    site = f"s{uuid.uuid4().hex[:6]}"
    config = _config(tmp_path, acl_broker, f"ha-{uuid.uuid4().hex[:6]}", site)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    async with as_user(acl_broker, "bob") as bob:
        await bob.subscribe(f"assistant/{site}/#", qos=1)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assistant.cli", "run", "--input", "-", "--no-wake",
            "--config", str(config),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        replies: dict[str, dict[str, object]] = {}
        try:
            async with asyncio.timeout(240):
                await _wait_idle(bob)
                for n in range(200):
                    payload = json.dumps({"text": "what time is it", "id": f"r{n}"})
                    await bob.publish(f"assistant/{site}/ask", payload, qos=1)
                async for message in bob.messages:
                    if str(message.topic).endswith("/reply"):
                        data = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                        replies[str(data["id"])] = data
                        if len(replies) == 200:
                            break
        finally:
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await proc.communicate()
    busy = [r for r in replies.values() if r.get("busy")]
    assert len(replies) == 200
    assert busy, "200 asks at once should overflow the request queue"
    assert all(r["text"] == BUSY_REPLY for r in busy)
    assert len(busy) < 200
