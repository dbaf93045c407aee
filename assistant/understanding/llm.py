"""The LLM fallback: a small GGUF model, constrained by a generated grammar.

Blocking by design: callers run `LlmFallback.parse` in a worker thread. One
model, one lock: llama.cpp contexts are not thread-safe.

The static prompt prefix is tokenized once and fed first, the sentence after.
The context keeps the evaluated tokens; each call keeps the longest common
prefix with them in the KV cache and evaluates only the rest, so a sentence
costs its own tokens plus the answer (`LlmTimings.prompt_tokens_evaluated`
shows it). `warm()` evaluates the prefix ahead of the first sentence.

Decoding is greedy under the grammar, with a token bound and a wall-clock
limit checked between tokens (and between prompt chunks); any failure comes
back as `LlmResult.error`, one line, never as an exception.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import UserError
from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.fewshot import default_examples
from assistant.understanding.grammar import build_grammar, focus, parse_output
from assistant.understanding.grammar_sampler import GrammarSampler
from assistant.understanding.prompt import Prompt, build_prompt, style_for, tuned_prompt
from assistant.understanding.validate import InvalidCall

__all__ = ["LlmFallback", "LlmResult", "LlmTimings", "rss_bytes"]

MAX_TOKENS = 96
_SAMPLER_CACHE = 32  # compiled grammars kept, keyed by the focused names
_EVAL_CHUNK = 128  # prompt tokens per decode call; the deadline is checked between chunks
_SENTENCE_TOKENS = 64  # room kept for the live sentence when the prefix is sized


@dataclass(frozen=True)
class LlmTimings:
    """Where one parse spent its time, and how much of the prompt was evaluated."""

    total_ms: float = 0.0
    prompt_ms: float = 0.0  # tokenize + evaluate the uncached part of the prompt
    generate_ms: float = 0.0
    prompt_tokens: int = 0  # whole prompt, prefix included
    prompt_tokens_evaluated: int = 0  # this call; the rest came from the KV cache
    llama_prompt_eval_tokens: int = 0  # llama.cpp's own count (batched prompt decodes)
    generated_tokens: int = 0
    paused: bool = False  # warm() stopped between chunks (`stop`); the evaluated part is kept


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
        focus_names: bool = True,
        adapter: Path | None = None,
    ) -> None:
        for path in (model_path, adapter):
            if path is not None and not Path(path).is_file():
                raise UserError(f"LLM model file not found: {path}")
        from llama_cpp import Llama

        self.model_path = Path(model_path)
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.focus = focus_names
        self._examples = list(examples)
        self._lock = threading.Lock()
        rss_before = rss_bytes()
        started = time.perf_counter()
        try:
            self._llm = Llama(
                model_path=str(model_path),
                lora_path=str(adapter) if adapter else None,
                n_ctx=context,
                n_threads=threads,
                n_threads_batch=threads,  # else os.cpu_count(): the host's, not ours
                verbose=False,
            )
        except ValueError as error:
            raise UserError(f"cannot load LLM model {model_path}: {error}") from None
        self.load_seconds = time.perf_counter() - started
        self.context = int(self._llm.n_ctx())  # llama.cpp may round the size up
        self.rss_after_load = rss_bytes()
        self.rss_model_bytes = self.rss_after_load - rss_before
        template = self._llm.metadata.get("tokenizer.chat_template")
        # A distilled adapter was trained on its own short prompt (no few-shot block).
        self.adapter = Path(adapter) if adapter else None
        self.style = "chat" if adapter else style_for(template)
        self._key: tuple[Any, ...] | None = None
        self._prompt: Prompt | None = None
        self._prefix_tokens: list[int] = []
        self._samplers: dict[Vocabulary, GrammarSampler] = {}
        self._schemas: tuple[IntentSchema, ...] = ()
        self._examples_for: tuple[IntentSchema, ...] | None = None
        self.examples_used = 0
        self._generated_examples: list[tuple[str, list[IntentCall]]] = []

    # ------------------------------------------------------------ prompt state

    def _prepare(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> None:
        """Rebuild prompt prefix and grammar when the intents or names change."""
        key = (tuple(schemas), vocabulary)
        if key == self._key:
            return
        examples = [] if self.adapter else self._examples or self._default_examples(tuple(schemas))
        # A big home or many intents can outgrow a small context: drop examples
        # (the first ones: the hand-written compound/"none" ones come last)
        # until the prefix leaves room for a sentence and the answer.
        room = self.context - self.max_tokens - _SENTENCE_TOKENS
        while True:
            if self.adapter:
                self._prompt = tuned_prompt(vocabulary)
            else:
                self._prompt = build_prompt(schemas, vocabulary, examples, self.style)
            self._prefix_tokens = self._llm.tokenize(
                self._prompt.prefix.encode("utf-8"), add_bos=True, special=True
            )
            if len(self._prefix_tokens) <= room or not examples:
                break
            examples = examples[max(1, (len(self._prefix_tokens) - room) // 40) :]
        self.examples_used = len(examples)
        for sampler in self._samplers.values():
            sampler.close()
        self._samplers.clear()
        self._schemas = tuple(schemas)
        self._key = key

    def _sampler_for(self, vocabulary: Vocabulary) -> GrammarSampler:
        """The grammar for these (focused) names; a few are kept for repeated sentences."""
        sampler = self._samplers.pop(vocabulary, None)
        if sampler is None:
            sampler = GrammarSampler(self._llm, build_grammar(self._schemas, vocabulary))
            if len(self._samplers) >= _SAMPLER_CACHE:
                self._samplers.pop(next(iter(self._samplers))).close()
        self._samplers[vocabulary] = sampler  # most recently used last
        return sampler

    def _default_examples(
        self, schemas: tuple[IntentSchema, ...]
    ) -> list[tuple[str, list[IntentCall]]]:
        # Examples depend on the intents only: names changing must not resample them.
        if self._examples_for != schemas:
            self._generated_examples = default_examples(schemas)
            self._examples_for = schemas
        return self._generated_examples

    @property
    def prefix(self) -> str:
        """The current static prompt prefix ("" before the first call)."""
        return self._prompt.prefix if self._prompt else ""

    def warm(
        self,
        schemas: Sequence[IntentSchema],
        vocabulary: Vocabulary,
        stop: Callable[[], bool] | None = None,
    ) -> LlmTimings:
        """Evaluate the static prefix now (stops between chunks once `stop()` is True)."""
        with self._lock:
            self._prepare(schemas, vocabulary)
            return self._generate("", None, stop)[1]

    # ------------------------------------------------------------ parsing

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> LlmResult:
        """Sentence -> validated calls; never raises for bad output or a timeout."""
        with self._lock:
            try:
                self._prepare(schemas, vocabulary)
                grammar = self._sampler_for(focus(vocabulary, text) if self.focus else vocabulary)
            except ValueError as problem:  # a grammar llama.cpp refuses: a bug, not a crash
                return LlmResult(error=f"cannot build the model's grammar: {problem}")
            raw, timings, error = self._generate(text, grammar)
        if error is not None:
            return LlmResult(raw=raw, timings=timings, error=error)
        try:
            calls = parse_output(raw, schemas, vocabulary)
        except InvalidCall as problem:
            return LlmResult(raw=raw, timings=timings, error=f"invalid model output: {problem}")
        return LlmResult(calls=tuple(calls), raw=raw, timings=timings)

    def _generate(
        self, text: str, grammar: GrammarSampler | None, stop: Callable[[], bool] | None = None
    ) -> tuple[str, LlmTimings, str | None]:
        """Evaluate what is not cached yet, then decode greedily under the grammar."""
        import llama_cpp

        assert self._prompt is not None
        warm_only = grammar is None
        llm = self._llm
        started = time.perf_counter()
        # Warming is a one-off at start-up: it is not bound by the per-sentence limit.
        deadline = math.inf if warm_only else started + self.timeout_s
        tokens = self._prefix_tokens + ([] if warm_only else self._suffix_tokens(text))
        if len(tokens) + self.max_tokens > llm.n_ctx():
            return (
                "",
                LlmTimings(),
                f"prompt of {len(tokens)} tokens does not fit the context of {llm.n_ctx()}: "
                "raise [understanding] llm_context",
            )
        llama_cpp.llama_perf_context_reset(llm.ctx)
        evaluated = 0
        if not warm_only and not self._prefix_cached():
            # A new or rebuilt prefix (first sentence, changed devices) is a
            # one-off like warm(): the sentence's time limit starts after it.
            evaluated, _ = self._evaluate(self._prefix_tokens, math.inf)
            deadline = time.perf_counter() + self.timeout_s
        more, finished_prompt = self._evaluate(tokens, deadline, stop)
        evaluated += more
        timed_out = not finished_prompt
        prompt_done = time.perf_counter()
        out: list[int] = []
        truncated = False
        if grammar is not None and not timed_out:
            grammar.reset()
            while True:
                if time.perf_counter() > deadline:
                    timed_out = True
                    break
                token = grammar.next_token()
                if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
                    break  # the grammar only allows an end once the output is complete
                grammar.accept(token)
                out.append(token)
                if len(out) >= self.max_tokens:
                    truncated = True
                    break
                llm.eval([token])
        finished = time.perf_counter()
        perf = llama_cpp.llama_perf_context(llm.ctx)
        timings = LlmTimings(
            total_ms=(finished - started) * 1000,
            prompt_ms=(prompt_done - started) * 1000,
            generate_ms=(finished - prompt_done) * 1000,
            prompt_tokens=len(tokens),
            prompt_tokens_evaluated=evaluated,
            llama_prompt_eval_tokens=int(perf.n_p_eval),
            generated_tokens=len(out),
            paused=warm_only and timed_out,
        )
        raw = llm.detokenize(out).decode("utf-8", errors="replace").strip()
        if timed_out:
            return raw, timings, f"model timed out after {self.timeout_s:g} s"
        if truncated:
            return raw, timings, f"model output exceeded {self.max_tokens} tokens"
        return raw, timings, None

    def _prefix_cached(self) -> bool:
        llm = self._llm
        size = len(self._prefix_tokens)
        return llm.n_tokens >= size and list(llm.input_ids[:size]) == self._prefix_tokens

    def _evaluate(
        self, tokens: list[int], deadline: float, stop: Callable[[], bool] | None = None
    ) -> tuple[int, bool]:
        """Bring the context to `tokens`, reusing the longest cached prefix.

        In chunks, so the deadline (or `stop()`) can end a long (re)built prefix
        between two. Returns how many tokens were evaluated and whether all were;
        at least the last token is always evaluated so its logits are fresh."""
        llm = self._llm
        cached = llm.input_ids[: llm.n_tokens]
        keep = 0
        # Reuse the static prefix at most: the sentence is then always evaluated
        # as one batch at the same position, so the answer to a sentence does not
        # depend on which sentence came before (batch shapes change the floats).
        limit = min(len(cached), len(tokens) - 1, len(self._prefix_tokens))
        while keep < limit and cached[keep] == tokens[keep]:
            keep += 1
        llm.n_tokens = keep  # llm.eval drops the KV cache from n_tokens on
        for start in range(keep, len(tokens), _EVAL_CHUNK):
            if start > keep and (time.perf_counter() > deadline or (stop and stop())):
                return start - keep, False
            llm.eval(tokens[start : start + _EVAL_CHUNK])
        return len(tokens) - keep, True

    def _suffix_tokens(self, text: str) -> list[int]:
        assert self._prompt is not None
        before, sentence, after = self._prompt.suffix_parts(text)
        tokens: list[int] = []
        for part, special in ((before, True), (sentence, False), (after, True)):
            tokens += self._llm.tokenize(part.encode("utf-8"), add_bos=False, special=special)
        return tokens

    def close(self) -> None:
        """Free the model now rather than at garbage collection."""
        for sampler in self._samplers.values():
            sampler.close()
        self._samplers.clear()
        self._llm.close()
