"""The Wyoming server's round trips on loopback, against the same work in `listen`.

    .venv/bin/python bench/wyoming_server.py [--utterances N] [--json OUT]

(Not bench/wyoming.py: run as a script, that name would shadow the wyoming package.)

A private mosquitto and the simulated example home; espeak-ng commands
(16 kHz WAVs).  `assistant serve-wyoming` runs as a child process and the
wyoming package's own client (AsyncTcpClient) measures, per command:

- transcription: `transcribe` + the audio chunks + `audio-stop` -> `transcript`;
- intent: `transcript` -> `handled` (understanding and the command sent);
- the same with two clients at once (each request's own round trip).

Then `assistant listen --no-wake --json` decodes and handles the same files
in one process, and its own timings (stt; understanding + dispatch) are the
baseline: the difference is what the protocol and the process boundary cost.
Peak RSS of both processes.  Prints median/p95; no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import wav_to_chunks
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.handle import Handled

from assistant.config import MqttConfig
from assistant.simulate import Fleet, load_example_home
from bench.e2e import TEMPLATE_COMMANDS, _summary
from bench.e2e_process import _free_port, mosquitto
from tests.pipeline_support import spoken

READY = "wyoming        ready"


def _config(tmp: Path, broker_port: int, port: int) -> Path:
    config = tmp / "config.toml"
    config.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\n'
        '[discovery]\nprefix = "benchwy"\n[understanding]\nllm = "off"\n'
        f"[wyoming]\nport = {port}\nzeroconf = false\n",
        encoding="utf-8",
    )
    return config


def _events(wav_path: Path) -> list[Event]:
    with wave.open(str(wav_path), "rb") as wav:
        chunks = wav_to_chunks(wav, samples_per_chunk=1024, start_event=True, stop_event=True)
        return [chunk.event() for chunk in chunks]


async def _round_trips(port: int, wav: Path) -> tuple[float, float, str]:
    """(transcription ms, intent ms, transcript) for one command on a new connection."""
    events = _events(wav)
    async with AsyncTcpClient("127.0.0.1", port) as client:
        t0 = time.perf_counter()
        await client.write_event(Transcribe(language="en").event())
        for event in events:
            await client.write_event(event)
        reply = await client.read_event()
        t1 = time.perf_counter()
        assert reply is not None
        assert Transcript.is_type(reply.type)
        text = Transcript.from_event(reply).text
        await client.write_event(Transcript(text=text).event())
        handled = await client.read_event()
        t2 = time.perf_counter()
        assert handled is not None
        assert Handled.is_type(handled.type), handled
    return (t1 - t0) * 1000, (t2 - t1) * 1000, text


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def _wyoming(config: Path, port: int, wavs: list[Path]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistant.cli",
        "serve-wyoming",
        "--config",
        str(config),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    try:
        while True:
            line = (await process.stderr.readline()).decode()
            if not line:
                raise RuntimeError("serve-wyoming ended before it was ready")
            if line.startswith(READY):
                break
        await _round_trips(port, wavs[0])  # warm-up, not counted
        stt, intent, texts = [], [], []
        for wav in wavs:
            a, b, text = await _round_trips(port, wav)
            stt.append(a)
            intent.append(b)
            texts.append(text)
        pair_stt: list[float] = []
        pair_intent: list[float] = []
        for first, second in zip(wavs[::2], wavs[1::2], strict=False):
            both = await asyncio.gather(_round_trips(port, first), _round_trips(port, second))
            pair_stt += [a for a, _, _ in both]
            pair_intent += [b for _, b, _ in both]
        rss = _peak_rss_mb(process.pid)
    finally:
        process.terminate()
        await process.communicate()
    return {
        "transcription": _summary(stt),
        "intent": _summary(intent),
        "two_clients_transcription": _summary(pair_stt),
        "two_clients_intent": _summary(pair_intent),
        "peak_rss_mb": rss,
        "transcripts": texts,
    }


async def _listen(config: Path, wavs: list[Path]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistant.cli",
        "listen",
        "--config",
        str(config),
        "--no-wake",
        "--json",
        str(wavs[0]),  # warm-up, not counted
        *map(str, wavs),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    results = [json.loads(line) for line in out.decode().splitlines()][1:]
    stt = [r["timings_ms"]["stt"] for r in results]
    intent = [
        r["timings_ms"].get("understanding", 0.0) + r["timings_ms"].get("dispatch", 0.0)
        for r in results
    ]
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "transcription": _summary(stt),
        "intent": _summary(intent),
        "peak_rss_mb": round(rss, 1),
    }


async def measure(utterances: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-wyoming-") as tmp_name:
        tmp = Path(tmp_name)
        broker, broker_port = mosquitto(tmp)
        try:
            port = _free_port()
            config = _config(tmp, broker_port, port)
            commands = (TEMPLATE_COMMANDS * (utterances // len(TEMPLATE_COMMANDS) + 1))[:utterances]
            wavs = [
                spoken(tmp / f"cmd{i}.wav", text, voice=voice, wake=None)
                for i, (text, voice) in enumerate(commands)
            ]
            mqtt = MqttConfig(host="127.0.0.1", port=broker_port)
            async with Fleet(load_example_home(), mqtt, "benchwy"):
                listen = await _listen(config, wavs)  # first: its RSS is the only child's
                served = await _wyoming(config, port, wavs)
        finally:
            broker.terminate()
            broker.wait()
    return {"utterances": utterances, "wyoming": served, "listen": listen}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=12)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = asyncio.run(measure(args.utterances))
    wy, listen = results["wyoming"], results["listen"]
    print(f"{results['utterances']} espeak-ng commands, example home, loopback")
    print(f"{'':34} {'median ms':>10} {'p95 ms':>10}")
    rows = [
        ("wyoming transcription round trip", wy["transcription"]),
        ("listen stt (in process)", listen["transcription"]),
        ("wyoming intent round trip", wy["intent"]),
        ("listen understanding + dispatch", listen["intent"]),
        ("wyoming transcription, 2 clients", wy["two_clients_transcription"]),
        ("wyoming intent, 2 clients", wy["two_clients_intent"]),
    ]
    for name, row in rows:
        print(f"{name:34} {row['median_ms']:>10} {row['p95_ms']:>10}")
    print(f"peak RSS: serve-wyoming {wy['peak_rss_mb']} MB, listen {listen['peak_rss_mb']} MB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
