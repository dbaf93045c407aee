"""The LLM fallback: a small GGUF model, constrained by a generated grammar.

Blocking by design: callers run `LlmFallback.parse` in a worker thread. One
model, one lock: llama.cpp contexts are not thread-safe.

The static prompt prefix is tokenized once and fed first, the sentence after:
llama-cpp-python keeps the evaluated tokens (`_input_ids`) and, on the next
call, only evaluates what differs from them, so each sentence costs the
sentence's tokens plus the answer. `warm()` evaluates the prefix ahead of the
first sentence.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import UserError
from assistant.understanding.fewshot import default_examples
from assistant.understanding.grammar import OutputError, Vocabulary, build_grammar, parse_output
from assistant.understanding.model import IntentCall, IntentSchema
from assistant.understanding.prompt import Prompt, build_prompt, style_for

__all__ = ["LlmFallback", "LlmResult", "LlmTimings", "Vocabulary", "rss_bytes"]

MAX_TOKENS = 96


@dataclass(frozen=True)
class LlmTimings:
    """Where one parse spent its time, and how much of the prompt was evaluated."""

    total_ms: float = 0.0
    prompt_ms: float = 0.0  # tokenize + evaluate the uncached part of the prompt
    generate_ms: float = 0.0
    prompt_tokens: int = 0  # whole prompt, prefix included
    prompt_tokens_evaluated: int = 0  # by llama.cpp this call (perf counters)
    generated_tokens: int = 0


@dataclass(frozen=True)
class LlmResult:
    """What the model said: calls ([] = "none"), raw output, timings, error if any."""

    calls: tuple[IntentCall, ...] = ()
    raw: str = ""
    timings: LlmTimings = field(default_factory=LlmTimings)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the output was valid (possibly "none")."""
        return self.error is None


def rss_bytes() -> int:
    """This process's resident set size (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class LlmFallback:
    """A loaded GGUF model that turns a sentence into validated intent calls."""

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int,
        context: int,
        timeout_s: float,
        examples: Sequence[tuple[str, list[IntentCall]]] = (),
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        if not Path(model_path).is_file():
            raise UserError(f"LLM model file not found: {model_path}")
        from llama_cpp import Llama

        self.model_path = Path(model_path)
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self._examples = list(examples)
        self._lock = threading.Lock()
        rss_before = rss_bytes()
        started = time.perf_counter()
        try:
            self._llm = Llama(
                model_path=str(model_path), n_ctx=context, n_threads=threads, verbose=False
            )
        except ValueError as error:
            raise UserError(f"cannot load LLM model {model_path}: {error}") from None
        self.load_seconds = time.perf_counter() - started
        self.rss_after_load = rss_bytes()
        self.rss_model_bytes = self.rss_after_load - rss_before
        template = self._llm.metadata.get("tokenizer.chat_template")
        self.style = style_for(template)
        self._key: tuple[Any, ...] | None = None
        self._prompt: Prompt | None = None
        self._prefix_tokens: list[int] = []
        self._grammar: Any = None
        self._stop_tokens = {self._llm.token_eos()}
        if self.style == "chat":
            self._stop_tokens.update(self._llm.tokenize(b"<|im_end|>", False, True))

    # ------------------------------------------------------------ prompt state

    def _prepare(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> None:
        """Rebuild prompt prefix and grammar when the intents or names change."""
        key = (tuple(schemas), vocabulary)
        if key == self._key:
            return
        from llama_cpp.llama_grammar import LlamaGrammar

        examples = self._examples or default_examples(schemas)
        self._prompt = build_prompt(schemas, vocabulary, examples, self.style)
        self._prefix_tokens = self._llm.tokenize(
            self._prompt.prefix.encode("utf-8"), add_bos=True, special=True
        )
        self._grammar = LlamaGrammar.from_string(build_grammar(schemas, vocabulary), verbose=False)
        self._key = key

    @property
    def prefix(self) -> str:
        """The current static prompt prefix ("" before the first call)."""
        return self._prompt.prefix if self._prompt else ""

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmTimings:
        """Evaluate the static prefix now, so the first sentence does not pay for it."""
        with self._lock:
            self._prepare(schemas, vocabulary)
            return self._generate("", warm_only=True)[1]

    # ------------------------------------------------------------ parsing

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> LlmResult:
        """Sentence -> validated calls; never raises for bad output or a timeout."""
        with self._lock:
            self._prepare(schemas, vocabulary)
            raw, timings, error = self._generate(text)
        if error is not None:
            return LlmResult(raw=raw, timings=timings, error=error)
        try:
            calls = parse_output(raw, schemas, vocabulary)
        except OutputError as problem:
            return LlmResult(raw=raw, timings=timings, error=f"invalid model output: {problem}")
        return LlmResult(calls=tuple(calls), raw=raw, timings=timings)

    def _generate(
        self, text: str, *, warm_only: bool = False
    ) -> tuple[str, LlmTimings, str | None]:
        import llama_cpp

        assert self._prompt is not None
        llm = self._llm
        started = time.perf_counter()
        deadline = started + self.timeout_s
        suffix = [] if warm_only else self._suffix_tokens(text)
        tokens = self._prefix_tokens + suffix
        if len(tokens) + self.max_tokens > llm.n_ctx():
            return "", LlmTimings(), f"prompt too long for the context ({len(tokens)} tokens)"
        llama_cpp.llama_perf_context_reset(llm.ctx)
        timed_out = False

        def out_of_time(_ids: Any, _logits: Any) -> bool:
            nonlocal timed_out
            timed_out = time.perf_counter() > deadline
            return timed_out

        out: list[int] = []
        first_token_at = None
        generator = llm.generate(
            tokens,
            temp=0.0,
            repeat_penalty=1.0,
            grammar=None if warm_only else self._grammar,
            stopping_criteria=llama_cpp.StoppingCriteriaList([out_of_time]),
        )
        for token in generator:
            if first_token_at is None:
                first_token_at = time.perf_counter()
            if warm_only or token in self._stop_tokens or self._is_end(token):
                break
            out.append(token)
            if len(out) >= self.max_tokens:
                break
        generator.close()
        finished = time.perf_counter()
        perf = llama_cpp.llama_perf_context(llm.ctx)
        prompt_done = first_token_at or finished
        timings = LlmTimings(
            total_ms=(finished - started) * 1000,
            prompt_ms=(prompt_done - started) * 1000,
            generate_ms=(finished - prompt_done) * 1000,
            prompt_tokens=len(tokens),
            prompt_tokens_evaluated=int(perf.n_p_eval),
            generated_tokens=len(out),
        )
        raw = llm.detokenize(out).decode("utf-8", errors="replace").strip()
        if timed_out:
            return raw, timings, f"model timed out after {self.timeout_s:g} s"
        if len(out) >= self.max_tokens and not warm_only:
            return raw, timings, f"model output exceeded {self.max_tokens} tokens"
        return raw, timings, None

    def _is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._llm._model.vocab, token))

    def _suffix_tokens(self, text: str) -> list[int]:
        assert self._prompt is not None
        suffix = self._prompt.suffix(text).encode("utf-8")
        tokens: list[int] = self._llm.tokenize(suffix, add_bos=False, special=True)
        return tokens

    def close(self) -> None:
        """Free the model now rather than at garbage collection."""
        self._llm.close()


def result_as_dict(result: LlmResult) -> dict[str, Any]:
    """A JSON-ready view (for `assistant ask --json` and the benchmark)."""
    return {
        "calls": [{"intent": c.intent, "slots": dict(c.slots)} for c in result.calls],
        "raw": result.raw,
        "error": result.error,
        "timings_ms": {
            "total": round(result.timings.total_ms, 1),
            "prompt": round(result.timings.prompt_ms, 1),
            "generate": round(result.timings.generate_ms, 1),
        },
        "prompt_tokens_evaluated": result.timings.prompt_tokens_evaluated,
    }


def dumps(result: LlmResult) -> str:
    """One-line JSON for logs."""
    return json.dumps(result_as_dict(result), ensure_ascii=False)
