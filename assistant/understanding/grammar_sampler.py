"""Greedy decoding under a GBNF grammar with llama.cpp's own samplers (the LLM fallback's)."""

from __future__ import annotations

from typing import Any


class GrammarSampler:
    """Greedy decoding under a GBNF grammar, cheap on large vocabularies.

    Applying a grammar to every candidate costs a pass over the vocabulary
    (262k entries for Gemma) per token. As llama.cpp's own common sampler
    does, take the best token first and check only it against the grammar;
    the full constrained pass runs only when that token is not allowed.
    Greedy either way, so the result is the same as constraining everything.
    """

    def __init__(self, llm: Any, grammar: str) -> None:
        import llama_cpp
        import numpy as np

        self._llm = llm
        self._sampler = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar.encode("utf-8"), b"root"
        )
        if not self._sampler:
            raise ValueError("llama.cpp rejected the generated grammar")
        n_vocab = llm.n_vocab()
        dtype = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
        self._all = np.zeros(n_vocab, dtype=dtype)
        self._all["id"] = np.arange(n_vocab, dtype=np.int32)
        self._one = np.zeros(1, dtype=dtype)
        self._n_vocab = n_vocab

    def _apply(self, data: Any) -> None:
        import ctypes

        import llama_cpp

        candidates = llama_cpp.llama_token_data_array(
            data=data.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token_data)),
            size=len(data),
            selected=-1,
            sorted=False,
        )
        llama_cpp.llama_sampler_apply(self._sampler, ctypes.byref(candidates))

    def next_token(self) -> int:
        """The most likely token the grammar allows after what was accepted."""
        import numpy as np

        logits = np.ctypeslib.as_array(self._llm._ctx.get_logits(), shape=(self._n_vocab,))
        best = int(np.argmax(logits))
        self._one["id"] = best
        self._one["logit"] = logits[best]
        self._apply(self._one)
        if np.isfinite(self._one["logit"][0]):
            return best
        self._all["logit"] = logits
        self._apply(self._all)
        return int(self._all["id"][int(np.argmax(self._all["logit"]))])

    def accept(self, token: int) -> None:
        """Advance the grammar past `token`."""
        import llama_cpp

        llama_cpp.llama_sampler_accept(self._sampler, token)

    def reset(self) -> None:
        """Back to the start of the grammar."""
        import llama_cpp

        llama_cpp.llama_sampler_reset(self._sampler)

    def close(self) -> None:
        """Free the llama.cpp sampler."""
        import llama_cpp

        if self._sampler:
            llama_cpp.llama_sampler_free(self._sampler)
            self._sampler = None
