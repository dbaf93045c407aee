"""Several gateways in one house: the house-wide ask topic, wake claims, arbitration.

Pure parts (claims, strengths, loudness, topics) directly; the arbiter
between two real connections on a real mosquitto, with espeak-ng speech.
The processes themselves: tests/test_house_processes.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.frames import reframe
from assistant.audio.wav import read_wav
from assistant.config import ConfigError, MqttConfig, parse
from assistant.errors import UserError
from assistant.interface import HOUSE_ASK, Ask, Topics, TurnReport, busy_payload, turn_payloads
from assistant.pipeline.arbitration import (
    SILENCE_DBFS,
    WAKE_TOPIC,
    WakeArbiter,
    WakeClaim,
    loudness_dbfs,
    parse_claim,
)
from assistant.pipeline.parts import connect_interface
from assistant.transports.mqtt import Incoming, MqttConnection
from assistant.transports.mqtt_topics import shared_filter, topic_matches, topic_problem
from assistant.wake import WakeWordDetector
from tests.conftest import Broker
from tests.pipeline_support import spoken


def claim(site: str, score: float = 0.9, loudness: float = -30.0) -> WakeClaim:
    return WakeClaim(site, score, loudness, 1_700_000_000.0)


def test_the_louder_or_surer_claim_wins_and_equal_claims_go_to_the_smaller_site() -> None:
    near, far = claim("kitchen", loudness=-24.0), claim("hall", loudness=-36.0)
    assert near.beats(far)
    assert not far.beats(near)
    # 0.3 more score outweighs 3 dB less loudness (20 dB per unit of score).
    assert claim("a", score=0.95, loudness=-33.0).beats(claim("b", score=0.65, loudness=-30.0))
    assert claim("alpha").beats(claim("beta"))
    assert not claim("beta").beats(claim("alpha"))


def test_a_claim_round_trips_and_bad_ones_say_why() -> None:
    original = claim("kitchen", 0.8765, -27.123)
    parsed = parse_claim(original.to_json().encode())
    assert parsed == WakeClaim("kitchen", 0.8765, -27.12, original.time)
    for payload, why in [
        (b"not json", "payload"),
        (b'{"site": "x", "score": 0.5, "loudness": -20}', "time"),
        (b'{"site": "", "score": 0.5, "loudness": -20, "time": 1}', "site"),
        (b'{"site": "x", "score": 7, "loudness": -20, "time": 1}', "score"),
        (b'{"site": "x", "score": 0.5, "loudness": "loud", "time": 1}', "loudness"),
        (b'{"site": "x", "score": 0.5, "loudness": -20, "time": NaN}', "time"),
        (b'["site", "x"]', "payload"),
    ]:
        problem = parse_claim(payload)
        assert isinstance(problem, str), payload
        assert problem.startswith(why), (payload, problem)
        assert "\n" not in problem


def test_loudness_follows_the_gain_in_dbfs(tmp_path: Path) -> None:
    speech = read_wav(spoken(tmp_path / "s.wav", "turn on the light", wake=None))
    quieter = (speech.astype(np.float64) * 10 ** (-12 / 20)).astype(np.int16)
    assert loudness_dbfs(speech) - loudness_dbfs(quieter) == pytest.approx(12.0, abs=0.1)
    assert loudness_dbfs(np.zeros(480, np.int16)) == SILENCE_DBFS
    assert loudness_dbfs(np.zeros(0, np.int16)) == SILENCE_DBFS
    assert loudness_dbfs(np.full(480, -32768, np.int16)) == 0.0


def test_a_shared_subscription_matches_the_plain_topic_and_bad_ones_are_refused() -> None:
    shared = shared_filter("assistant", "assistant/house/ask")
    assert shared == "$share/assistant/assistant/house/ask"
    assert topic_problem(shared, is_filter=True) is None
    assert topic_matches(shared, "assistant/house/ask")
    assert not topic_matches(shared, "assistant/kitchen/ask")
    assert topic_matches("$share/g/assistant/+/ask", "assistant/kitchen/ask")
    for bad in ("$share//assistant/house/ask", "$share/g+/x", "$share/#/x", "$share/g"):
        assert topic_problem(bad, is_filter=True) is not None, bad


def test_house_asks_are_routed_only_when_enabled_and_never_sensitive() -> None:
    alone = Topics("kitchen")
    assert alone.route("assistant/house/ask") is None
    assert all("house" not in topic for topic in alone.subscriptions())
    house = Topics("kitchen", ("alice",), house_group="home")
    assert "$share/home/assistant/house/ask" in house.subscriptions()
    assert house.route("assistant/house/ask") == ("ask", HOUSE_ASK)
    assert not HOUSE_ASK.sensitive
    # The trusted user's own topic stays the only sensitive one.
    route = house.route("assistant/kitchen/ask/alice")
    assert route is not None
    assert route[1].sensitive


def test_a_house_answer_goes_to_the_house_topics_with_the_answering_site() -> None:
    topics = Topics("kitchen", house_group="home")
    report = TurnReport("turn on the light", reply="Done", source="ask", request_id="7", house=True)
    sent = dict(turn_payloads(topics, report, now=1.0))
    assert set(sent) == {
        "assistant/house/transcript",
        "assistant/house/intent",
        "assistant/house/reply",
    }
    reply = json.loads(sent["assistant/house/reply"])
    assert reply == {"site": "kitchen", "source": "ask", "time": 1.0, "id": "7", "text": "Done"}
    topic, payload = busy_payload(topics, Ask("hi", "8", HOUSE_ASK), now=1.0)
    assert topic == "assistant/house/reply"
    assert json.loads(payload)["busy"] is True
    # A site's own ask is still answered on the site's topics.
    assert busy_payload(topics, Ask("hi", "9"), now=1.0)[0] == "assistant/kitchen/reply"


def test_house_config_is_off_by_default_and_checked() -> None:
    settings = parse({})
    assert settings.house.enabled is False
    assert parse({"house": {"enabled": True, "group": "home"}}).house.group == "home"
    with pytest.raises(ConfigError, match=r"house\.group"):
        parse({"house": {"group": "a/b"}})
    with pytest.raises(ConfigError, match=r"house\.arbitration_seconds"):
        parse({"house": {"arbitration_seconds": 0}})
    with pytest.raises(ConfigError, match=r"unknown key 'house\.window'"):
        parse({"house": {"window": 1}})


async def _arbiter(broker: Broker, site: str, window: float) -> tuple[MqttConnection, WakeArbiter]:
    connection = MqttConnection(MqttConfig(host=broker.host, port=broker.port), name=site)
    await connection.__aenter__()

    async def publish(topic: str, payload: str) -> None:
        await connection.publish(topic, payload, qos=1, ttl=window)

    arbiter = WakeArbiter(site, window, publish)
    connection.subscribe(WAKE_TOPIC, arbiter.on_message)
    async with asyncio.timeout(10):
        await connection.wait_subscribed()
    return connection, arbiter


def _hear_wake(arbiter: WakeArbiter, audio: np.ndarray) -> WakeWordDetector:
    """Feed `audio` to a real detector and the arbiter up to the wake word."""
    detector = WakeWordDetector()
    for frame in reframe([audio], 480):
        arbiter.hear(frame)
        if detector.process(frame):
            return detector
    raise AssertionError("the wake word was not heard")


async def test_of_two_gateways_hearing_one_wake_word_only_the_louder_answers(
    tmp_path: Path, broker: Broker
) -> None:
    loud = read_wav(spoken(tmp_path / "w.wav", "turn on the kitchen light"))
    quiet = (loud.astype(np.float64) * 10 ** (-10 / 20)).astype(np.int16)
    near_conn, near = await _arbiter(broker, "near", 0.5)
    far_conn, far = await _arbiter(broker, "far", 0.5)
    try:
        decided: dict[str, bool] = {}
        near_detector, far_detector = _hear_wake(near, loud), _hear_wake(far, quiet)
        near.contend_later(near_detector, lambda won: decided.__setitem__("near", won))
        far.contend_later(far_detector, lambda won: decided.__setitem__("far", won))
        async with asyncio.timeout(10):
            # Both commands cut while the decisions are pending wait for them.
            assert await asyncio.gather(near.answering(), far.answering()) == [True, False]
        assert decided == {"near": True, "far": False}
        assert near.last is not None
        assert far.last is not None
        # Each heard the other's claim, and its own was 10 dB apart.
        assert [r.site for r in near.last.rivals] == ["far"]
        assert [r.site for r in far.last.rivals] == ["near"]
        assert near.last.claim.loudness - far.last.claim.loudness == pytest.approx(10.0, abs=0.5)
        # A command cut after the decision is a new one: it is answered.
        assert await far.answering() is True
    finally:
        await near_conn.__aexit__(None, None, None)
        await far_conn.__aexit__(None, None, None)


async def test_a_lone_gateway_answers_and_bad_claims_are_logged_not_fatal(
    tmp_path: Path, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    audio = read_wav(spoken(tmp_path / "w.wav", "turn on the kitchen light"))
    connection, arbiter = await _arbiter(broker, "alone", 0.3)
    try:
        with caplog.at_level(logging.WARNING):
            await connection.publish(WAKE_TOPIC, '{"site": "x", "score": "\\u001b[2J"}')
            await connection.publish(WAKE_TOPIC, "garbage")
            # Our own claim echoed by the broker is not a rival.
            decision = await arbiter.contend(_hear_wake(arbiter, audio).last_probability)
        assert decision.won
        assert decision.rivals == ()
        assert decision.waited >= 0.3
        assert arbiter.bad_claims == 2
        warnings = [r.getMessage() for r in caplog.records if "wake claim" in r.getMessage()]
        assert len(warnings) == 1  # the first, then one per hundred
        assert "\x1b" not in warnings[0]
    finally:
        await connection.__aexit__(None, None, None)


async def test_a_stale_claim_is_not_a_rival() -> None:
    sent: list[str] = []

    async def publish(topic: str, payload: str) -> None:
        sent.append(payload)

    arbiter = WakeArbiter("here", 0.05, publish)
    arbiter.on_message(Incoming(WAKE_TOPIC, claim("there", loudness=0.0).to_json().encode()))
    await asyncio.sleep(0.2)  # older than the window before our detection
    decision = await arbiter.contend(0.5)
    assert decision.won
    assert decision.rivals == ()
    assert json.loads(sent[0])["site"] == "here"


async def test_a_shared_subscription_hands_each_message_to_one_connection(broker: Broker) -> None:
    config = MqttConfig(host=broker.host, port=broker.port)
    got: dict[str, list[bytes]] = {"one": [], "two": []}
    every = asyncio.Event()
    async with MqttConnection(config, name="one") as one, MqttConnection(config, name="two") as two:
        for name, connection in (("one", one), ("two", two)):

            def on_message(message: Incoming, name: str = name) -> None:
                assert message.topic == "assistant/house/ask"  # the plain topic, not $share/...
                got[name].append(message.payload)
                if sum(map(len, got.values())) == 20:
                    every.set()

            connection.subscribe(shared_filter("g", "assistant/house/ask"), on_message)
        async with asyncio.timeout(10):
            await one.wait_subscribed()
            await two.wait_subscribed()
            for index in range(20):
                await one.publish("assistant/house/ask", str(index))
            await every.wait()
    received = sorted(int(payload) for payloads in got.values() for payload in payloads)
    assert received == list(range(20))
    assert got["one"]
    assert got["two"]


def test_the_site_id_house_is_refused_when_house_is_on() -> None:
    settings = parse({"site": {"id": "house"}, "house": {"enabled": True}})
    connection = MqttConnection(settings.mqtt)
    with pytest.raises(UserError, match=r"\[site\] id 'house' is taken"):
        connect_interface(settings, connection, asyncio.Queue())
    # Alone, a gateway may be called anything.
    alone = parse({"site": {"id": "house"}})
    assert connect_interface(alone, connection, asyncio.Queue()).topics.site == "house"
