"""Benchmark: hostile configs, broker restarts, and a long `ask -` session.

Starts a private mosquitto on a free loopback port and the simulated fleet
(a small home), then prints numbers (no pass/fail):

- hostile configs: 300+ hostile retained discovery configs
  (``assistant.simulate.hostile``) published while `ask -` runs; how many
  were tried, refused at parse, disabled later, and whether the assistant
  survived them (one connection, right answers);
- broker restarts of 5 s and 15 s during 100 brightness commands (device
  service in-process): commands lost (never reached the device), reported
  lost (dropped, or sent but unconfirmed), falsely reported done (confirmed
  but never reached the device), delivered late (more than the command TTL
  after they were said), and the reconnect time after the broker is back;
- RSS of one `ask -` process before and after 5,000 commands.

Run: .venv/bin/python bench/reliability.py [--asks 5000] [--outages 5,15]
(about 4 minutes on 2 cores with the defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt

from assistant.config import MqttConfig, parse
from assistant.devices.mqtt.discovery_commands import percent_to_device_brightness
from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from assistant.simulate import hostile
from assistant.simulate.fleet import Fleet
from assistant.simulate.home import Home, parse_home
from assistant.transports.mqtt import CommandExpired

HOME: dict[str, Any] = {
    "name": "Reliability bench home",
    "topic_root": "benchhome",
    "areas": [{"name": "Kitchen"}, {"name": "Entrance"}],
    "entities": [
        {"kind": "light", "name": "Kitchen Light", "area": "Kitchen", "features": ["brightness"]},
        {"kind": "fan", "name": "Kitchen Fan", "area": "Kitchen", "features": ["percentage"]},
        {"kind": "lock", "name": "Front Door", "area": "Entrance", "state": "locked"},
    ],
}
LIGHT = "light.kitchen_light"
SENTENCES = (
    "turn on the kitchen light",
    "turn off the kitchen light",
    "set the kitchen fan speed to 40%",
    "is the kitchen light on",
    "what is the capital of France",
    "turn off the kitchen fan",
)


class Broker:
    """A private mosquitto that can be stopped and started again on its port."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_packet_size 2000000\nset_tcp_nodelay true\n",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen(
            [mosquitto, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _home() -> Home:
    return parse_home(HOME, "bench home")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _write_config(directory: Path, port: int, prefix: str) -> Path:
    config = directory / f"{prefix}.toml"
    config.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[discovery]\nprefix = "{prefix}"\nsettle_seconds = 0.5\nmax_wait_seconds = 20\n'
        '[zigbee2mqtt]\nenabled = false\n[understanding]\nllm = "off"\n',
        encoding="utf-8",
    )
    return config


class Asker:
    """One `assistant ask -` process: a line in, a JSON object out; stderr collected."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr: list[str] = []
        self.reader = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls, config: Path) -> Asker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assistant.cli", "ask", "--config", str(config), "-",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=1 << 20,
        )  # fmt: skip
        return cls(process)

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr.append(line.decode(errors="replace"))

    async def ask(self, text: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("ask - ended: " + "".join(self.stderr)[-500:])
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()
        await self.reader


async def bench_hostile(broker: Broker, directory: Path) -> None:
    prefix, root = "hostilebench", "evilbench"
    mqtt = MqttConfig(host="127.0.0.1", port=broker.port)
    async with Fleet(_home(), mqtt, prefix=prefix, clear_on_exit=True) as fleet:
        asker = await Asker.start(_write_config(directory, broker.port, prefix))
        await asker.ask("turn on the kitchen light")
        rss_before = _rss_mb(asker.process.pid)
        lock_topic = next(iter(fleet.announcements["lock.front_door"].commands))
        bad = hostile.configs(prefix, root, borrowed_topic=lock_topic)
        started = time.monotonic()
        async with aiomqtt.Client("127.0.0.1", broker.port) as c:
            for item in bad:
                await c.publish(item.topic, item.payload, qos=1, retain=True)
            while not any("light.porch_light" in line for line in asker.stderr):  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the last config: once refused, all were seen
            took = time.monotonic() - started
            for topic, payload in hostile.states(root):
                await c.publish(topic, payload, qos=1, retain=True)
            right = 0
            for sentence, entity_id in [
                ("turn off the kitchen light", LIGHT),
                ("turn on the porch light", None),
                ("turn on the kitchen light", LIGHT),
            ]:
                answer = await asker.ask(sentence)
                ids = [a["entity_id"] for a in answer["actions"]]
                right += ids == ([entity_id] if entity_id else [])
            for item in bad:  # leave the broker clean for the next part
                await c.publish(item.topic, b"", qos=1, retain=True)
        rss_after = _rss_mb(asker.process.pid)
        await asker.close()
    log = asker.stderr
    refused = sum(" skipped: " in line or " refused: " in line for line in log)
    disabled = sum(" disabled: " in line or "state on" in line for line in log)
    connections = sum("MQTT connected" in line for line in log)
    survived = len(bad) if connections == 1 and right == 3 else 0
    print(f"hostile configs tried            {len(bad)}")
    print(f"hostile configs survived         {survived}")
    print(f"  refused at parse (log lines)   {refused}")
    print(f"  rejected later (log lines)     {disabled}")
    print(f"  seen in                        {took:.2f} s")
    print(f"  MQTT connections               {connections}")
    print(f"  asks answered right after      {right}/3")
    print(f"  ask - RSS before / after       {rss_before:.1f} / {rss_after:.1f} MB")
    print(f"  tracebacks in the log          {sum('Traceback' in line for line in log)}")


@dataclass
class _Outcome:
    brightness: int
    issued: float
    confirmed: bool | None = None
    expired: bool = False


def _report(
    outage: float, interval: float, outcomes: list[_Outcome], arrived: dict[str, float], ttl: float
) -> None:
    def payload(o: _Outcome) -> str:
        return str(percent_to_device_brightness(o.brightness, 255))

    got = [o for o in outcomes if payload(o) in arrived]
    lost = [o for o in outcomes if payload(o) not in arrived]
    reported = [o for o in outcomes if o.expired or o.confirmed is False]
    false_done = [o for o in lost if o.confirmed]
    late = [o for o in got if arrived[payload(o)] - o.issued > ttl]
    print(f"broker restart, {outage:g} s outage, 100 commands every {interval:.2f} s")
    print(f"  delivered                      {len(got)}")
    print(f"  lost (never reached device)    {len(lost)}")
    print(f"  reported lost                  {len(reported)}")
    print(f"    dropped unsent (expired)     {sum(o.expired for o in outcomes)}")
    print(f"    sent, unconfirmed            {sum(o.confirmed is False for o in outcomes)}")
    print(f"  falsely reported done          {len(false_done)}")
    silent = [o for o in lost if not (o.expired or o.confirmed is False)]
    print(f"  lost and not reported          {len(silent)}")
    over = [o for o in got if o.expired or o.confirmed is False]
    print(f"  delivered, yet reported lost   {len(over)}")
    print(f"  delivered late (> TTL {ttl:g} s)    {len(late)}")


async def bench_restart(broker: Broker, outage: float) -> None:
    prefix = f"restart{int(outage)}"
    settings = parse(
        {
            "mqtt": {"host": "127.0.0.1", "port": broker.port},
            "discovery": {"prefix": prefix, "settle_seconds": 0.3},
            "zigbee2mqtt": {"enabled": False},
        }
    )
    mqtt = settings.mqtt
    async with (
        Fleet(_home(), mqtt, prefix=prefix, clear_on_exit=True) as fleet,
        DeviceService(settings, Registry()) as service,
    ):
        await service.wait_settled()
        topic = next(t for t, role in fleet.announcements[LIGHT].commands.items() if "bri" in role)
        interval = (outage + 10.0) / 100

        async def command(brightness: int) -> _Outcome:
            outcome = _Outcome(brightness, time.monotonic())
            try:
                action = await service.executor.execute(
                    LIGHT, "set_brightness", brightness=brightness
                )
            except CommandExpired:
                outcome.expired = True
            else:
                outcome.confirmed = action.confirmed
            return outcome

        tasks = []
        back_at = reconnected_at = 0.0
        for i in range(100):
            if i == 20:
                await asyncio.to_thread(broker.stop)
                stopped_at = time.monotonic()
            if i > 20 and not back_at and time.monotonic() - stopped_at >= outage:
                await asyncio.to_thread(broker.start)
                back_at = time.monotonic()
            if back_at and not reconnected_at and service.connection.connected:
                reconnected_at = time.monotonic()
            tasks.append(asyncio.create_task(command(i + 1)))
            await asyncio.sleep(interval)
        outcomes = await asyncio.gather(*tasks)
        if not back_at:
            await asyncio.to_thread(broker.start)
            back_at = time.monotonic()
        await service.connection.wait_connected()
        reconnected_at = reconnected_at or time.monotonic()
        await asyncio.sleep(1.0)
    # What the device itself got (not the broker, nor another subscriber).
    arrived: dict[str, float] = {}
    for received in fleet.received:
        if received.topic == topic:
            arrived.setdefault(received.payload, received.at)

    _report(outage, interval, outcomes, arrived, mqtt.command_ttl_seconds)
    print(f"  reconnect after broker is back {reconnected_at - back_at:.2f} s")


async def bench_asks(broker: Broker, directory: Path, count: int) -> None:
    prefix = "asksbench"
    mqtt = MqttConfig(host="127.0.0.1", port=broker.port)
    async with Fleet(_home(), mqtt, prefix=prefix, clear_on_exit=True):
        asker = await Asker.start(_write_config(directory, broker.port, prefix))
        for sentence in SENTENCES:
            await asker.ask(sentence)
        before = _rss_mb(asker.process.pid)
        started = time.monotonic()
        unconfirmed = 0
        for i in range(count):
            answer = await asker.ask(SENTENCES[i % len(SENTENCES)])
            unconfirmed += sum(a.get("confirmed") is False for a in answer["actions"])
        took = time.monotonic() - started
        after = _rss_mb(asker.process.pid)
        await asker.close()
    print(f"ask - {count} commands in one process ({took / count * 1000:.1f} ms each)")
    print(f"  RSS before / after             {before:.1f} / {after:.1f} MB")
    print(f"  actions unconfirmed            {unconfirmed}")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp))
        broker.start()
        try:
            await bench_hostile(broker, Path(tmp))
            for outage in args.outages:
                await bench_restart(broker, outage)
            await bench_asks(broker, Path(tmp), args.asks)
        finally:
            broker.stop()


if __name__ == "__main__":
    # The in-process device service logs every dropped command: numbers only here.
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=5000)
    parser.add_argument(
        "--outages", type=lambda s: [float(x) for x in s.split(",")], default=[5.0, 15.0]
    )
    asyncio.run(main(parser.parse_args()))
