"""Soak: 300 utterances through one `assistant listen -` process.

No failures, and nothing grows per utterance: the resident size is read
after every file, and the highest of the last 80 files is within 10% of the
highest of the 80 after the warm-up (files 21-100).  One reading is not
enough: from one file to the next the size swings by ~45 MB (13%), buffers
given back to the system or kept, so comparing the reading after file 20
with the one after file 300 failed CI (336 -> 387 MiB) on a process whose
ceiling did not move (here: every reading after the warm-up within 325-376
MiB).  A steady leak of 200 kB per file, ~200 files apart, still lifts the
ceiling by ~40 MB (11%).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from assistant.config import MqttConfig
from assistant.simulate import Fleet, load_example_home
from tests.conftest import Broker
from tests.pipeline_support import spoken

pytestmark = pytest.mark.slow

UTTERANCES = 300
WARM_UP = 20
WINDOW = 80

SENTENCES = [
    ("turn on the kitchen light", "en-us"),
    ("turn off the kitchen light", "en-gb"),
    ("turn on the coffee machine", "en-us"),
    ("set the reading lamp to 40 percent", "en-us"),
    ("close the living room blinds", "en-us"),
    ("turn on the ceiling fan", "en-us"),
    ("press the doorbell", "en-us"),
    ("turn off the garage light", "en-gb-x-rp"),
]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.timeout(1800)
async def test_three_hundred_utterances_in_one_process(tmp_path: Path, broker: Broker) -> None:
    prefix = f"ha-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'[discovery]\nprefix = "{prefix}"\n[understanding]\nllm = "off"\n',
        encoding="utf-8",
    )
    files = [
        spoken(tmp_path / f"{i}.wav", text, voice=voice)
        for i, (text, voice) in enumerate(SENTENCES)
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    results: list[dict[str, object]] = []
    rss: list[int] = []
    async with Fleet(load_example_home(), MqttConfig(host=broker.host, port=broker.port), prefix):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "assistant.cli",
            "listen",
            "--config",
            str(config),
            "--json",
            "--reply-dir",
            str(tmp_path / "replies"),
            "-",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        async with asyncio.timeout(1700):
            for index in range(UTTERANCES):
                # One at a time, as a long-running caller would feed it.
                proc.stdin.write(f"{files[index % len(files)]}\n".encode())
                await proc.stdin.drain()
                line = await proc.stdout.readline()
                assert line, f"listen stopped after {index} files"
                results.append(json.loads(line))
                rss.append(_rss_kib(proc.pid))
            proc.stdin.close()
            await proc.wait()
    assert proc.returncode == 0
    failures = [r for r in results if r.get("error") or not r.get("actions")]
    assert failures == []
    early = max(rss[WARM_UP : WARM_UP + WINDOW])
    late = max(rss[-WINDOW:])
    growth = (late - early) / early
    print(
        f"RSS ceiling over files {WARM_UP + 1}-{WARM_UP + WINDOW}: {early / 1024:.0f} MiB, "
        f"over the last {WINDOW}: {late / 1024:.0f} MiB ({growth:+.1%}); "
        f"all readings {min(rss) / 1024:.0f}-{max(rss) / 1024:.0f} MiB"
    )
    assert growth < 0.10
