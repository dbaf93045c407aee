"""One place decides how many threads each engine starts.

On a 2-core gateway the engines used to ask for more threads than there are
cores: llama-cpp-python sizes its prompt threads from ``os.cpu_count()`` (every
core of the host, not the ones this process may use), Silero VAD's bundled
ggml runs each 32 ms chunk on a team of 4 OpenMP threads (0.97 ms a chunk on
2 cores, 0.11 ms with one thread), and numpy's OpenBLAS starts a thread per
core at import.  The stages of one utterance run one after another (the
microphone's small models, then STT, then the model), so each heavy engine
may use every core this process is allowed; the small per-frame models and
numpy get one.

Engines and what sets their threads:

- CTranslate2 (Whisper): ``cpu_threads`` (``[stt] threads``, 0 = `stt`);
- llama.cpp: ``n_threads`` and ``n_threads_batch`` (``[understanding]
  llm_threads``, 0 = `llm`);
- Silero VAD (ggml, its own libgomp): no setting; ``OMP_THREAD_LIMIT=1``
  while it loads (`single_threaded_openmp`) caps its team to one thread;
- the wake word (TFLite C API, no options): one thread already;
- Vosk (Kaldi): one thread already;
- numpy (OpenBLAS, or MKL/OpenMP builds): ``OPENBLAS_NUM_THREADS``,
  ``MKL_NUM_THREADS``, ``OMP_NUM_THREADS`` = 1 before numpy is imported
  (`limit_numeric_threads`, called by the CLI).  CTranslate2 and llama.cpp
  pass their counts explicitly, so ``OMP_NUM_THREADS`` does not cap them.

Instruction sets: ``CT2_FORCE_CPU_ISA=AVX2`` makes CTranslate2 behave as on an
AVX2-only machine.  llama.cpp (ggml) and Silero's ggml choose their kernels
when they are compiled (the llama-cpp-python wheel here was built for the
build machine, AVX-512 included), so reproducing an AVX2 gateway means a
build with ``-DGGML_NATIVE=OFF -DGGML_AVX512=OFF``; neither has a run-time
switch.  onnxruntime is not used by the assistant (the wake word is TFLite).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass

__all__ = [
    "NUMERIC_ENV",
    "ThreadBudget",
    "available_cores",
    "limit_numeric_threads",
    "single_threaded_openmp",
    "thread_budget",
]

MAX_ENGINE_THREADS = 8
"""More threads stop paying off for one short utterance (and memory grows per thread)."""

NUMERIC_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""The variables numpy's BLAS (whichever build) reads for its thread count."""


@dataclass(frozen=True)
class ThreadBudget:
    """Threads per engine for a machine with `cores` usable cores."""

    cores: int
    stt: int
    """CTranslate2's ``cpu_threads`` (Whisper decodes after the end of speech, alone)."""
    llm: int
    """llama.cpp's ``n_threads`` (generation, after STT)."""
    llm_batch: int
    """llama.cpp's ``n_threads_batch`` (prompt evaluation)."""
    per_frame: int = 1
    """Wake word and VAD: tiny models run every 30 ms while STT may stream."""
    numeric: int = 1
    """numpy's BLAS: small arrays only."""


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def thread_budget(cores: int | None = None) -> ThreadBudget:
    """The threads each engine gets on `cores` cores (default: `available_cores()`)."""
    usable = max(1, cores if cores is not None else available_cores())
    heavy = min(usable, MAX_ENGINE_THREADS)
    return ThreadBudget(cores=usable, stt=heavy, llm=heavy, llm_batch=heavy)


def limit_numeric_threads(environ: MutableMapping[str, str]) -> list[str]:
    """Give numpy's BLAS one thread (before numpy is imported); the variables set.

    A value the user set is kept.
    """
    added = [name for name in NUMERIC_ENV if not environ.get(name)]
    for name in added:
        environ[name] = "1"
    return added


@contextlib.contextmanager
def single_threaded_openmp() -> Iterator[None]:
    """Load a library whose bundled OpenMP runtime should use one thread.

    libgomp reads ``OMP_THREAD_LIMIT`` once, when it is loaded; a library that
    bundles its own copy (Silero VAD's ggml) and is first imported inside this
    block keeps the limit, while CTranslate2's and llama.cpp's copies (loaded
    elsewhere, and passed explicit counts) do not see it.
    """
    before = os.environ.get("OMP_THREAD_LIMIT")
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["OMP_THREAD_LIMIT"]
        else:
            os.environ["OMP_THREAD_LIMIT"] = before
