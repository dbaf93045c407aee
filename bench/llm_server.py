"""Benchmark server mode (`[understanding] llm = "server"`) against the local model.

    .venv/bin/python bench/llm_server.py [results.json] [--limit 20] [--timeout 30]
        [--hang-timeout 3]

Starts llama-cpp-python's server (``python -m llama_cpp.server``) on the
embedded SmolLM2 GGUF on loopback, and the local model in the assistant's
worker process (what server mode falls back to), then runs the paraphrases
of tests/data/paraphrases.yaml through:

- the local model alone;
- server mode with the server up (HTTP, the server's chat template, its prompt cache);
- server mode with the server stopped: each sentence finds the port closed,
  then the local model answers (backoff off, so every sentence pays the try);
- server mode inside the backoff after a failure (the local model directly);
- server mode with a server that accepts and never answers: the timeout, then
  the local model (the first few sentences only: each costs the timeout).

Prints latency median / p95 and exact accuracy for each, the RSS of the
local model's worker and of the server. Both run the same tiny model on the
same CPUs here: the numbers show what the transport and a fallback cost,
not what a bigger model on a bigger machine gains.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config_llm_server import LlmServerConfig  # noqa: E402
from assistant.understanding.fallback import LlmBackend  # noqa: E402
from assistant.understanding.llm_process import LlmProcess  # noqa: E402
from assistant.understanding.llm_server import ServerBackend  # noqa: E402
from bench.llm import expected_calls, load_set, locate, percentile  # noqa: E402
from tests.model_servers import llama_server, model_peer  # noqa: E402

MODEL = "smollm2-135m-instruct-q4_1"
KEY = "bench-key"
HANG_SENTENCES = 5


def process_rss_mb(pid: int) -> float:
    """Resident set size of process `pid` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    return 0.0


def run(backend: LlmBackend, sentences: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """Each sentence through `backend`: wall-clock latency and exactness."""
    schemas, vocabulary, _ = load_set()
    latencies, exact = [], 0
    for item in sentences:
        started = time.perf_counter()
        result = backend.parse(item["text"], schemas, vocabulary)
        latencies.append((time.perf_counter() - started) * 1000)
        got = [(c.intent, dict(c.slots)) for c in result.calls]
        exact += got == [(c.intent, dict(c.slots)) for c in expected_calls(item)]
    row = {
        "mode": label,
        "n": len(sentences),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "exact": exact / len(sentences),
    }
    print(
        f"{label:<44} {row['n']:>3} {row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} "
        f"{row['exact']:>7.1%}",
        flush=True,
    )
    return row


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, nargs="?", help="JSON file for the results")
    parser.add_argument("--limit", type=int, default=20, help="first N sentences (0: all)")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="[llm_server] timeout_seconds, server up"
    )
    parser.add_argument(
        "--hang-timeout", type=float, default=3.0, help="timeout_seconds for the silent server"
    )
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args()


def main() -> int:
    args = arguments()
    logging.basicConfig(level=logging.ERROR)  # not one fallback line per sentence
    schemas, vocabulary, sentences = load_set()
    if args.limit:
        sentences = sentences[: args.limit]
    path = locate(MODEL)
    rows: list[dict[str, Any]] = []
    facts: dict[str, Any] = {"model": MODEL, "timeout_s": args.timeout}
    # Generous limits: the cold prompt on a busy 2-core machine takes minutes.
    local = LlmProcess(path, threads=args.threads, context=2048, timeout_s=600.0)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            started = time.perf_counter()
            local.warm(schemas, vocabulary)
            facts["local_cold_prompt_s"] = round(time.perf_counter() - started, 2)
            facts["local_worker_rss_mb"] = round(process_rss_mb(local.pid), 1)
            with llama_server(path, Path(tmp), KEY, threads=args.threads) as server:
                config = LlmServerConfig(url=server.url, token=KEY, timeout_seconds=args.timeout)
                up = ServerBackend(config, local)
                # The server's prompt cache: one sentence, waited for (warm() does not wait).
                cold = ServerBackend(config.model_copy(update={"timeout_seconds": 600}), None)
                started = time.perf_counter()
                cold.parse("hello", schemas, vocabulary)
                facts["server_cold_prompt_s"] = round(time.perf_counter() - started, 2)
                facts["server_rss_mb"] = round(process_rss_mb(server.process.pid), 1)
                print(f"{'mode':<44} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'exact':>7}")
                rows.append(run(local, sentences, "local model (worker process)"))
                before = server.answered()
                rows.append(run(up, sentences, "server mode, server up"))
                # Those the local model answered instead (timeouts) show here.
                facts["server_answered"] = f"{server.answered() - before} of {len(sentences)}"
            # Stopped: every sentence tries the closed port first (no backoff).
            down = ServerBackend(config, local, retry_first=0, retry_cap=0)
            rows.append(run(down, sentences, "server mode, server down (refused) -> local"))
            backoff = ServerBackend(config, local)
            backoff.parse("hello", schemas, vocabulary)  # fails once: backoff starts
            rows.append(run(backoff, sentences, "server mode, inside backoff -> local"))
            with model_peer() as peer:
                peer.hang = True
                hung = LlmServerConfig(url=peer.url, timeout_seconds=args.hang_timeout)
                hanging = ServerBackend(hung, local, retry_first=0, retry_cap=0)
                label = f"server mode, no answer ({args.hang_timeout:g} s timeout) -> local"
                rows.append(run(hanging, sentences[:HANG_SENTENCES], label))
        finally:
            local.close()
    for key, value in facts.items():
        print(f"{key}: {value}")
    if args.output:
        args.output.write_text(json.dumps({**facts, "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
