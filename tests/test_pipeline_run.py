"""`assistant run` as a process: ask over MQTT, and SIGTERM during an utterance."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from pathlib import Path

import aiomqtt
import numpy as np
import pytest

from assistant.audio.wav import read_wav, write_wav
from assistant.config import MqttConfig
from assistant.simulate import Fleet, load_example_home
from tests.conftest import Broker
from tests.pipeline_support import silence, spoken
from tests.processes import start_run

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, broker: Broker, prefix: str, site: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'[discovery]\nprefix = "{prefix}"\n[site]\nid = "{site}"\n'
        '[understanding]\nllm = "off"\n',
        encoding="utf-8",
    )
    return config


async def _wait_payload(client: aiomqtt.Client, topic_end: str, wanted: str | None = None) -> str:
    async for message in client.messages:
        payload = bytes(message.payload).decode()  # type: ignore[arg-type]
        if str(message.topic).endswith(topic_end) and (wanted is None or payload == wanted):
            return payload
    raise AssertionError("no message")


async def test_ask_over_mqtt_acts_and_publishes_the_reply(tmp_path: Path, broker: Broker) -> None:
    prefix, site = f"ha-{uuid.uuid4().hex[:6]}", f"site-{uuid.uuid4().hex[:6]}"
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with (
        Fleet(load_example_home(), mqtt, prefix) as fleet,
        aiomqtt.Client(broker.host, broker.port) as client,
    ):
        await client.subscribe(f"assistant/{site}/#", qos=1)
        # Raw audio on a stdin that stays silent: a microphone nobody speaks into.
        proc = await start_run(_config(tmp_path, broker, prefix, site), "--input", "-")
        try:
            async with asyncio.timeout(120):
                # "idle" comes once the pipeline runs (ask is subscribed by then).
                await _wait_payload(client, "/state", "idle")
                await client.publish(f"assistant/{site}/ask", "turn on the kitchen light", qos=1)
                reply = json.loads(await _wait_payload(client, "/reply"))
                await fleet.wait_for_state("light.kitchen_ceiling", "on")
        finally:
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                _, err = await proc.communicate()
        async with asyncio.timeout(10):
            assert await _wait_payload(client, "/available", "offline") == "offline"
    assert proc.returncode == 0, err.decode()[-2000:]
    assert reply["text"] == "Turned on the lights"
    assert reply["source"] == "ask"
    assert "Traceback" not in err.decode()


async def test_sigterm_during_an_utterance_stops_within_two_seconds(
    tmp_path: Path, broker: Broker
) -> None:
    prefix, site = f"ha-{uuid.uuid4().hex[:6]}", f"site-{uuid.uuid4().hex[:6]}"
    command = spoken(tmp_path / "cmd.wav", "turn on the kitchen light and the fan", tail=0.1)
    wav = tmp_path / "long.wav"
    write_wav(wav, np.concatenate([read_wav(command), silence(30.0)]))
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with Fleet(load_example_home(), mqtt, prefix) as fleet:
        async with aiomqtt.Client(broker.host, broker.port) as client:
            await client.subscribe(f"assistant/{site}/state", qos=1)
            proc = await start_run(_config(tmp_path, broker, prefix, site), "--input", str(wav))
            async with asyncio.timeout(120):
                # The wake word was heard: the command is being spoken right now.
                await _wait_payload(client, "/state", "listening")
            proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            async with asyncio.timeout(30):
                _, err = await proc.communicate()
            took = time.monotonic() - sent
        # Whatever reached the fleet is whole: a known entity and a valid payload.
        for received in fleet.received:
            assert received.entity_id in fleet.states
            assert received.payload
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "Traceback" not in err.decode()
    assert took < 2.0, f"stopped {took:.2f} s after SIGTERM"


async def _run_briefly(config: Path, *args: str, stop_after: str | None = None) -> tuple[int, str]:
    proc = await start_run(config, *args)
    assert proc.stderr is not None
    seen = ""
    async with asyncio.timeout(120):
        if stop_after is not None:
            while stop_after not in seen:
                line = await proc.stderr.readline()
                assert line, seen
                seen += line.decode()
            proc.send_signal(signal.SIGTERM)
        _, err = await proc.communicate()
    return proc.returncode or 0, seen + err.decode()


async def test_no_microphone_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[audio]\ninput_device = "no such microphone 42"\n', encoding="utf-8")
    code, err = await _run_briefly(config)
    assert code == 2
    assert "Traceback" not in err
    assert "no such microphone 42" in err or "no audio input device" in err


async def test_missing_model_names_the_download_command(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[stt]\nengine = "vosk"\n[models]\ndirectory = "{tmp_path / "models"}"\n',
        encoding="utf-8",
    )
    code, err = await _run_briefly(config, "--input", "-")
    assert code == 2
    assert "Traceback" not in err
    assert "assistant models download" in err


async def test_broker_down_is_waited_for_and_said(tmp_path: Path) -> None:
    from tests.conftest import free_port

    config = tmp_path / "config.toml"
    config.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n', encoding="utf-8")
    code, err = await _run_briefly(config, "--input", "-", stop_after="waiting for the broker")
    assert code == 0
    assert "Traceback" not in err


async def test_a_killed_assistant_is_announced_offline_by_its_will(
    tmp_path: Path, broker: Broker
) -> None:
    prefix, site = f"ha-{uuid.uuid4().hex[:6]}", f"site-{uuid.uuid4().hex[:6]}"
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe(f"assistant/{site}/available", qos=1)
        proc = await start_run(_config(tmp_path, broker, prefix, site), "--input", "-")
        async with asyncio.timeout(120):
            await _wait_payload(client, "/available", "online")
            proc.kill()  # no clean stop: only the broker can tell
            await proc.wait()
            assert await _wait_payload(client, "/available", "offline") == "offline"


async def test_run_tells_systemd_ready_watchdog_and_stopping(
    tmp_path: Path, broker: Broker
) -> None:
    import socket as socketlib

    prefix, site = f"ha-{uuid.uuid4().hex[:6]}", f"site-{uuid.uuid4().hex[:6]}"
    path = tmp_path / "notify.sock"
    sock = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    os.environ["NOTIFY_SOCKET"] = str(path)
    os.environ["WATCHDOG_USEC"] = "400000"  # a ping every 0.2 s
    try:
        proc = await start_run(_config(tmp_path, broker, prefix, site), "--input", "-")
    finally:
        del os.environ["NOTIFY_SOCKET"]
        del os.environ["WATCHDOG_USEC"]
    messages: list[str] = []
    try:
        async with asyncio.timeout(120):
            while not any("READY=1" in m for m in messages):
                messages.append((await loop.sock_recv(sock, 4096)).decode())
            while not any("WATCHDOG=1" in m for m in messages):
                messages.append((await loop.sock_recv(sock, 4096)).decode())
            proc.send_signal(signal.SIGTERM)
            while not any("STOPPING=1" in m for m in messages):
                messages.append((await loop.sock_recv(sock, 4096)).decode())
            await proc.communicate()
    finally:
        sock.close()
    assert proc.returncode == 0
    ready = next(m for m in messages if "READY=1" in m)
    assert "STATUS=listening" in ready


async def test_run_on_a_recording_acts_and_speaks_the_reply(tmp_path: Path, broker: Broker) -> None:
    prefix, site = f"ha-{uuid.uuid4().hex[:6]}", f"site-{uuid.uuid4().hex[:6]}"
    wav = spoken(tmp_path / "cmd.wav", "turn on the coffee machine", tail=2.0)
    out = tmp_path / "spoken.wav"
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with Fleet(load_example_home(), mqtt, prefix) as fleet:
        proc = await start_run(
            _config(tmp_path, broker, prefix, site), "--input", str(wav), "--out", str(out)
        )
        async with asyncio.timeout(120):
            _, err = await proc.communicate()  # the recording ends: the last turn is answered
        assert fleet.states["switch.coffee_machine"].state == "on"
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "heard 'Turn on the coffee machine" in err.decode() or "coffee machine" in err.decode()
    # What the speaker got: the wake chime, then "Turned on the switch".
    from assistant.config import Settings
    from assistant.stt import create_engine

    engine = create_engine(Settings())
    engine.accept(read_wav(out))
    assert "turn" in engine.finish().text.lower()
