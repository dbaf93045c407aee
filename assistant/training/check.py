"""Does a GGUF adapter work in the runtime's engine? Generate under the grammar and parse.

Loads the base with the adapter in llama-cpp-python (the runtime's engine),
prompts each test sentence exactly as ``format.prompt_text`` does, samples
greedily under the project's GBNF grammar for that home, and parses the
output with ``parse_output``.  Counts outputs that parse and that equal the
label; the first is the pipeline check, the second a first accuracy number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.understanding.calls import IntentSchema
from assistant.understanding.grammar import build_grammar, parse_output, render_calls
from assistant.understanding.validate import InvalidCall

from .dataset import DataConfig, llm_schemas
from .homes import Home, make_home


@dataclass(frozen=True)
class CheckResult:
    """What the adapter did on the sentences tried."""

    tried: int
    parsed: int
    exact: int
    seconds_per_sentence: float
    samples: tuple[tuple[str, str, str], ...]  # (sentence, output, label)


def check_adapter(
    base: Path,
    adapter: Path | None,
    data_dir: Path,
    limit: int = 20,
    threads: int = 2,
    *,
    home: Home | None = None,
    schemas: Sequence[IntentSchema] | None = None,
) -> CheckResult:
    """Run `limit` test sentences of `data_dir`, spread over the file, through base + adapter.

    With `home`, every sentence is of that home (the user's held-out set),
    else of the synthetic home its record names.
    """
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar

    manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    config = DataConfig(**manifest["config"])
    schemas = llm_schemas() if schemas is None else schemas
    llm = Llama(
        model_path=str(base),
        lora_path=str(adapter) if adapter else None,
        n_ctx=1024,
        n_threads=threads,
        verbose=False,
    )
    with (data_dir / "test.jsonl").open(encoding="utf-8") as handle:
        every = [json.loads(line) for line in handle]
    # Evenly spread over the file: templates, paraphrases and negatives of every test home.
    stride = max(1, len(every) // max(1, limit))
    records = every[::stride][:limit]
    grammars: dict[int, Any] = {}
    parsed = exact = 0
    samples = []
    started = time.perf_counter()
    for record in records:
        vocabulary = (home or make_home(record["home"], config.seed)).vocabulary()
        if record["home"] not in grammars:
            grammars[record["home"]] = LlamaGrammar.from_string(
                build_grammar(schemas, vocabulary), verbose=False
            )
        out: Any = llm.create_completion(
            record["prompt"], grammar=grammars[record["home"]], max_tokens=96, temperature=0.0
        )
        raw = str(out["choices"][0]["text"]).strip()
        try:
            calls = parse_output(raw, schemas, vocabulary)
        except InvalidCall:
            calls = None
        if calls is not None:
            parsed += 1
            exact += render_calls(calls, schemas) == record["answer"]
        samples.append((record["text"], raw, record["answer"]))
    elapsed = time.perf_counter() - started
    return CheckResult(
        tried=len(records),
        parsed=parsed,
        exact=exact,
        seconds_per_sentence=elapsed / max(1, len(records)),
        samples=tuple(samples),
    )
