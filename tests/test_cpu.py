"""The utterance owns the CPU: thread budgets, idle priority, and background
work (a real LLM worker's warm-up, a real STT grammar rebuild) stopping at its
safe points while an utterance is handled.

No timings: what is asserted is who waited where (the gate's pause count, the
warm-up's `paused`), at which priority the threads ran (read from /proc), and
how many threads the engines started.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.sources import WavSource
from assistant.config import Settings, VadConfig
from assistant.cpu.budget import limit_numeric_threads, thread_budget
from assistant.cpu.foreground import Foreground, lower_this_thread
from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.models import ModelStore
from assistant.pipeline.grammar_refresh import GrammarRefresh
from assistant.pipeline.listener import CommandReady, Listener, NothingSaid, WakeHeard
from assistant.pipeline.turn import TurnRunner
from assistant.stt.vosk import VoskEngine
from assistant.understanding.calls import IntentSchema, SlotSpec
from assistant.understanding.grammar import Vocabulary
from assistant.understanding.llm_process import LlmProcess
from assistant.understanding.origin import VOICE, Origin
from assistant.understanding.outcome import Outcome
from assistant.vad import EndOfSpeech, EndpointSettings, create_engine
from assistant.wake import WakeWordDetector
from tests.pipeline_support import spoken

IDLE = (19, 0)
"""(nice, policy) of background threads: nice 19, SCHED_OTHER."""


def _sched(pid: int, tid: int) -> tuple[int, int]:
    """(nice, scheduling policy) of one thread, from /proc."""
    fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16]), int(fields[38])  # fields 19 and 41 of proc(5)


def _wait_for(condition: Callable[[], bool], limit: float = 60.0) -> None:
    """Wait until `condition` holds (a bound on waiting, not a measurement)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# --- thread budgets -----------------------------------------------------------


@pytest.mark.parametrize(("cores", "stt", "llm"), [(1, 1, 1), (2, 2, 2), (4, 4, 4), (32, 8, 8)])
def test_thread_budget_fits_the_cores(cores: int, stt: int, llm: int) -> None:
    budget = thread_budget(cores)
    assert (budget.stt, budget.llm, budget.llm_batch) == (stt, llm, llm)
    assert budget.per_frame == budget.numeric == 1
    # The stages of one utterance run one after another: none asks for more than there is.
    assert max(budget.stt, budget.llm, budget.llm_batch) <= cores


def test_default_budget_follows_the_affinity_mask() -> None:
    assert thread_budget().cores == len(os.sched_getaffinity(0))


def test_numeric_threads_limited_unless_the_user_chose() -> None:
    environ = {"OPENBLAS_NUM_THREADS": "3"}
    assert limit_numeric_threads(environ) == ["OMP_NUM_THREADS", "MKL_NUM_THREADS"]
    assert environ == {"OPENBLAS_NUM_THREADS": "3", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_configured_threads_default_to_the_budget() -> None:
    settings = Settings()
    assert settings.stt.threads == 0
    assert settings.understanding.llm_threads == 0


def test_silero_runs_on_one_thread() -> None:
    """Silero's ggml would start a team of OpenMP threads per 32 ms chunk (4 on 2 cores)."""
    script = textwrap.dedent(
        """
        import os
        import numpy as np
        from assistant.vad import create_engine

        engine = create_engine("silero")
        noise = np.random.default_rng(1).normal(0, 3000, 512).astype(np.int16)
        for _ in range(20):
            engine.score(noise)
        print(len(os.listdir("/proc/self/task")), "OMP_THREAD_LIMIT" in os.environ)
        """
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("OMP_THREAD_LIMIT", None)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert out == ["1", "False"]  # one thread, and the cap did not leak to other libraries


# --- idle priority --------------------------------------------------------------


def test_background_threads_and_their_children_run_at_idle_priority() -> None:
    seen: dict[str, tuple[int, int]] = {}

    def child() -> None:
        seen["child"] = _sched(os.getpid(), threading.get_native_id())

    def background() -> None:
        lower_this_thread()
        seen["background"] = _sched(os.getpid(), threading.get_native_id())
        started = threading.Thread(target=child)
        started.start()
        started.join()

    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert seen["background"] == IDLE
    assert seen["child"] == IDLE  # e.g. llama.cpp's OpenMP team
    # The caller's own thread is untouched.
    assert _sched(os.getpid(), threading.get_native_id()) != IDLE


async def test_background_work_waits_for_the_utterance() -> None:
    foreground = Foreground()
    try:
        ran: dict[str, object] = {}

        def work() -> str:
            ran["during_utterance"] = foreground.active
            ran["sched"] = _sched(os.getpid(), threading.get_native_id())
            return "built"

        foreground.begin()  # the wake word
        job = asyncio.ensure_future(foreground.run_background(work))
        await asyncio.to_thread(_wait_for, lambda: foreground.pauses > 0)
        assert not ran  # held at its first safe point
        foreground.end()  # the reply is ready
        async with asyncio.timeout(30):
            assert await job == "built"
        assert ran == {"during_utterance": False, "sched": IDLE}
    finally:
        foreground.close()


# --- the listener and the turn hold the gate -----------------------------------


def _listener(foreground: Foreground) -> Listener:
    endpointer = EndOfSpeech(create_engine("silero"), EndpointSettings.from_config(VadConfig()))
    listener = Listener(WakeWordDetector("okay_nabu"), endpointer)
    listener.foreground = foreground
    return listener


@pytest.mark.slow
async def test_held_from_the_wake_word_to_the_reply(tmp_path: Path) -> None:
    foreground = Foreground()
    listener = _listener(foreground)
    wav = spoken(tmp_path / "cmd.wav", "turn on the kitchen light")
    held: list[tuple[str, bool]] = []
    ready = None
    for frame in WavSource(wav, 480).iter_frames():
        event = listener.process(frame, time.monotonic())
        if isinstance(event, WakeHeard | CommandReady):
            held.append((type(event).__name__, foreground.active))
        if isinstance(event, CommandReady):
            ready = event
    assert held == [("WakeHeard", True), ("CommandReady", True)]
    assert ready is not None

    async def understand(text: str, origin: Origin) -> Outcome:
        held.append(("understanding", foreground.active))
        return Outcome(
            text=text, intent=None, slots={}, actions=(), reply="", handled_by=None, timings_ms={}
        )

    runner = TurnRunner(None, understand)
    runner.foreground = foreground
    try:
        await runner.from_text("turn on the kitchen light", VOICE)
    finally:
        runner.close()
    assert held[-1] == ("understanding", True)
    assert not foreground.active  # the reply is ready: background work may go on
    foreground.close()


@pytest.mark.slow
def test_nothing_said_after_the_wake_word_lets_go(tmp_path: Path) -> None:
    from assistant.audio.wav import read_wav, write_wav
    from tests.conftest import speak
    from tests.pipeline_support import silence

    foreground = Foreground()
    listener = _listener(foreground)
    wake = read_wav(speak("okay nabu", tmp_path / "wake.wav"))
    write_wav(tmp_path / "wake_only.wav", np.concatenate([silence(0.5), wake, silence(9.0)]))
    events = []
    for frame in WavSource(tmp_path / "wake_only.wav", 480).iter_frames():
        event = listener.process(frame, time.monotonic())
        if event is not None:
            events.append((type(event), foreground.active))
    assert events == [(WakeHeard, True), (NothingSaid, False)]
    foreground.close()


# --- real background work: the LLM worker's warm-up, a grammar rebuild ----------

SCHEMAS = (
    IntentSchema("HassTurnOn", "Turn on a device", (SlotSpec("name", "name"),)),
    IntentSchema("HassTurnOff", "Turn off a device", (SlotSpec("name", "name"),)),
)
VOCABULARY = Vocabulary(names=("Ceiling Fan", "Desk Lamp"), areas=("Office",), floors=())


@pytest.fixture(scope="module")
def gate() -> Iterator[Foreground]:
    foreground = Foreground()
    yield foreground
    foreground.close()


@pytest.fixture(scope="module")
def llm(gate: Foreground) -> Iterator[LlmProcess]:
    create_engine("silero").score(np.zeros(512, dtype=np.int16))  # as the service loads it
    path = ModelStore.from_settings(Settings()).locate("smollm2-135m-instruct-q4_1")
    process = LlmProcess(path, threads=2, context=2048, timeout_s=60.0, foreground=gate)
    yield process
    process.close()


@pytest.mark.slow
async def test_warm_up_pauses_for_the_utterance_that_uses_the_model(
    llm: LlmProcess, gate: Foreground
) -> None:
    """The wake word fires before a prompt preparation starts: the worker stops after
    its first chunk, the utterance's sentence is answered meanwhile (the model is not
    locked by the paused warm-up), and the warm-up finishes once the reply is ready."""
    pauses = gate.pauses
    gate.begin()  # the wake word, before the warm-up's first chunk
    warm = asyncio.ensure_future(asyncio.to_thread(llm.warm, SCHEMAS, VOCABULARY))
    try:
        # The worker evaluates one chunk, sees the flag, returns; the parent waits.
        await asyncio.to_thread(_wait_for, lambda: gate.pauses > pauses, 120)
        assert not warm.done()
        answer = await asyncio.to_thread(llm.parse, "switch off the desk lamp", SCHEMAS, VOCABULARY)
        assert answer.error is None, answer.raw
        assert [c.intent for c in answer.calls] == ["HassTurnOff"]
    finally:
        gate.end()  # the reply is ready
    async with asyncio.timeout(120):
        timings = await warm
    assert not timings.paused
    assert timings.prompt_tokens > 128  # more than one chunk: there was a safe point


def _idle_threads(pid: int) -> int:
    count = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if _sched(pid, int(task.name)) == IDLE:
                count += 1
        except (FileNotFoundError, ProcessLookupError):
            continue
    return count


@pytest.mark.slow
async def test_warm_up_computes_at_idle_priority(llm: LlmProcess) -> None:
    """The worker's warm-up thread and the llama.cpp threads it starts are idle; the
    thread that answers sentences is not."""
    await asyncio.to_thread(llm.warm, SCHEMAS, VOCABULARY)
    assert _idle_threads(llm.pid) >= 2  # the warm-up thread and llama.cpp's team (2 threads)
    # The worker's main thread, which parses sentences, keeps our priority.
    assert _sched(llm.pid, llm.pid) == _sched(os.getpid(), os.getpid())


def _thing(name: str) -> Entity:
    return Entity(f"switch.{abs(hash(name))}", name, "switch", "config")


@pytest.mark.slow
async def test_grammar_rebuild_waits_for_the_utterance(vosk_ko: VoskEngine) -> None:
    """A device appears (discovery) while a command is being heard: the phrase list is
    rebuilt after the reply, at idle priority, and reaches the engine between utterances."""
    foreground = Foreground()
    registry = Registry()
    registry.upsert(_thing("불"))
    built_at: list[tuple[bool, tuple[int, int]]] = []

    def phrases() -> list[str]:
        built_at.append((foreground.active, _sched(os.getpid(), threading.get_native_id())))
        return [f"{e.name} 열어" for e in registry.entities()]

    refresh = GrammarRefresh(vosk_ko, phrases, settle_seconds=0.05, foreground=foreground)
    try:
        await refresh.start(registry)
        foreground.begin()  # the wake word
        registry.upsert(_thing("문"))
        await asyncio.to_thread(_wait_for, lambda: foreground.pauses > 0)
        assert refresh.builds == 1  # not rebuilt while the command is handled
        foreground.end()
        async with asyncio.timeout(30):
            await refresh.settled()
        assert refresh.builds == 2
        assert built_at[-1] == (False, IDLE)
        refresh.apply()
        assert vosk_ko.phrases == frozenset({"불 열어", "문 열어"})
    finally:
        refresh.close()
        foreground.close()
        vosk_ko.set_phrases(None)
