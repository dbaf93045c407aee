"""How much of the paraphrase set the gazetteer stage answers, and how much of that right.

    PYTHONPATH=. .venv/bin/python bench/gazetteer.py [--verbose] [--json out.json]

tests/data/paraphrases.yaml holds sentences Home Assistant's templates do not
match, with the calls they should produce.  Each goes through
``GazetteerStage.understand`` (a fresh conversation per sentence) over a
registry built from the file's home.  Per sentence: answered (calls),
refused (a sentence to say), or passed (left to the model).  An answer is
*right* when every call has the expected intent and reaches the same devices
(resolved the way the handlers resolve them); *exact* when the other slots
(brightness, state ...) match too; *wrong device* when a call would act on
devices other than the expected ones, or on anything for a sentence that
should produce no call.

The judging (and the paraphrase home's floors) is bench/judge.py's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.understanding.calls import IntentCall  # noqa: E402
from assistant.understanding.gazetteer import GazetteerStage  # noqa: E402
from assistant.understanding.loader import discover  # noqa: E402
from bench.judge import PARAPHRASES, judge, paraphrase_registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="one line per sentence")
    parser.add_argument("--json", type=Path, help="write the rows and totals here")
    args = parser.parse_args()

    data = yaml.safe_load(PARAPHRASES.read_text(encoding="utf-8"))
    discover()
    registry = paraphrase_registry(data["home"])
    stage = GazetteerStage(registry)
    started = time.perf_counter()
    stage.warm()
    build_ms = (time.perf_counter() - started) * 1000

    rows: list[dict[str, Any]] = []
    for index, item in enumerate(data["sentences"]):
        expected = [IntentCall(c["intent"], c.get("slots") or {}) for c in item["calls"]]
        t0 = time.perf_counter()
        result = stage.understand(item["text"], origin_key=f"bench-{index}")
        ms = (time.perf_counter() - t0) * 1000
        got = list(result.calls)
        row: dict[str, Any] = {
            "text": item["text"],
            "outcome": "answered" if got else "refused" if result.refusal else "passed",
            "calls": [{"intent": c.intent, "slots": dict(c.slots)} for c in got],
            "refusal": result.refusal,
            "ms": round(ms, 2),
        }
        row.update(judge(registry, expected, got) if got else {})
        rows.append(row)
        if args.verbose:
            mark = {True: "ok ", False: "BAD"}.get(row.get("right"), "   ") if got else "   "
            said = row["calls"] if got else result.refusal or "-"
            print(f"{mark} {row['outcome']:<8} {item['text']!r} -> {said}")

    answered = [r for r in rows if r["outcome"] == "answered"]
    positives = [r for r, item in zip(rows, data["sentences"], strict=True) if item["calls"]]
    latencies = [r["ms"] for r in rows]
    totals = {
        "sentences": len(rows),
        "with_calls_expected": len(positives),
        "answered": len(answered),
        "right": sum(r["right"] for r in answered),
        "exact": sum(r["exact"] for r in answered),
        "wrong_device": sum(r["wrong_device"] for r in answered),
        "refused": sum(r["outcome"] == "refused" for r in rows),
        "passed": sum(r["outcome"] == "passed" for r in rows),
        "build_ms": round(build_ms, 1),
        "latency_ms_p50": round(statistics.median(latencies), 2),
        "latency_ms_p95": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))], 2),
    }
    n = totals["sentences"]
    print(
        f"gazetteer on {n} paraphrases: answered {totals['answered']}"
        f" ({totals['answered'] / n:.0%}), right {totals['right']} (exact {totals['exact']}),"
        f" wrong action or device {totals['answered'] - totals['right']},"
        f" wrong device {totals['wrong_device']}, refused {totals['refused']},"
        f" passed {totals['passed']}"
    )
    print(
        f"right share of all sentences: {totals['right'] / n:.1%};"
        f" of answered: {totals['right'] / max(1, totals['answered']):.1%};"
        f" wrong-device share of all: {totals['wrong_device'] / n:.1%}"
    )
    print(
        f"matcher build {totals['build_ms']} ms; per sentence p50 {totals['latency_ms_p50']} ms,"
        f" p95 {totals['latency_ms_p95']} ms"
    )
    if args.json:
        args.json.write_text(json.dumps({"totals": totals, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
