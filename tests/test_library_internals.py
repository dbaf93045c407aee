"""The private parts of libraries the assistant relies on are still there.

pyproject bounds these libraries and constraints.txt pins them; when an
upgrade moves one of these attributes, this test fails first and names it,
rather than the assistant failing in the middle of a command.

- aiomqtt: transports/mqtt_client.py overrides ``Client._wait_for`` so a
  wait for the broker never swallows a cancellation.
- llama-cpp-python: understanding/llm.py reads ``Llama._model.vocab`` (grammar
  sampler, end-of-generation check), ``Llama._ctx.get_logits()`` (grammar-
  constrained greedy decoding), and assigns ``Llama.n_tokens`` to reuse the
  cached prompt prefix.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import aiomqtt
import pytest

from assistant.transports.mqtt_client import Client


async def test_aiomqtt_client_still_waits_through_wait_for() -> None:
    base = aiomqtt.Client
    assert hasattr(base, "_wait_for"), "aiomqtt.Client._wait_for is gone: mqtt_client.py"
    assert inspect.iscoroutinefunction(base._wait_for), "aiomqtt.Client._wait_for is not async"
    params = list(inspect.signature(base._wait_for).parameters)
    assert params == ["self", "fut", "timeout"], f"aiomqtt.Client._wait_for{params} changed"
    # The override only matters while aiomqtt itself waits through it.
    uses = inspect.getsource(base).count("self._wait_for(")
    assert uses >= 3, f"aiomqtt.Client calls self._wait_for {uses} times: the override is moot"
    client = Client("127.0.0.1", 1, timeout=1.5)
    assert client.timeout == 1.5, "aiomqtt.Client.timeout (read by our _wait_for) changed"


# In a fresh interpreter: llama.cpp and Silero VAD bundle different libggml
# builds, and one pytest process cannot hold both (see tests/llama_worker.py).
_LLAMA_CHECK = r"""
import json, sys
import llama_cpp
import numpy as np

missing = []
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, n_threads=1, verbose=False)
model = getattr(llm, "_model", None)
if model is None:
    missing.append("Llama._model")
elif getattr(model, "vocab", None) is None:
    missing.append("Llama._model.vocab")
else:
    eos = llm.token_eos()
    if not llama_cpp.llama_vocab_is_eog(model.vocab, eos):
        missing.append("llama_vocab_is_eog(Llama._model.vocab, eos)")
ctx = getattr(llm, "_ctx", None)
if ctx is None:
    missing.append("Llama._ctx")
elif not callable(getattr(ctx, "get_logits", None)):
    missing.append("Llama._ctx.get_logits")
tokens = llm.tokenize(b"Hello there")
llm.eval(tokens)
if ctx is not None and callable(getattr(ctx, "get_logits", None)):
    logits = np.ctypeslib.as_array(ctx.get_logits(), shape=(llm.n_vocab(),))
    if not np.isfinite(logits).all():
        missing.append("Llama._ctx.get_logits() (not the last token's logits)")
if list(llm.input_ids[: llm.n_tokens]) != tokens:
    missing.append("Llama.input_ids[:n_tokens] (the evaluated tokens)")
try:
    llm.n_tokens = 1
    if llm.n_tokens != 1:
        missing.append("Llama.n_tokens (assignment does not stick)")
except AttributeError:
    missing.append("Llama.n_tokens (no longer settable)")
print(json.dumps(missing))
"""


@pytest.mark.slow
def test_llama_cpp_internals_used_by_the_llm_fallback() -> None:
    from assistant.config import Settings
    from assistant.models import ModelStore

    # The smallest embedded GGUF (a pip package), with a tiny context.
    path: Path = ModelStore.from_settings(Settings()).locate("smollm2-135m-instruct-q4_1")
    done = subprocess.run(
        [sys.executable, "-c", _LLAMA_CHECK, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    missing = json.loads(done.stdout.strip().splitlines()[-1])
    assert missing == [], f"llama-cpp-python internals used by llm.py changed: {missing}"


def test_pymicro_wakeword_keeps_its_raw_probabilities() -> None:
    """wake/detector.py reads `_probabilities` and `_features` to find where the wake
    word ended (the clean cut); without them the cut falls back to a fixed lookback."""
    import numpy as np

    from assistant.wake import WakeWordDetector

    detector = WakeWordDetector("okay_nabu")
    model = detector._mww
    for name in ("_probabilities", "_features"):
        assert hasattr(model, name), f"pymicro_wakeword.MicroWakeWord.{name} is gone"
    before = len(model._probabilities)
    for _ in range(50):  # 1.5 s of silence: several inferences
        detector.process(np.zeros(480, dtype=np.int16))
    assert len(model._probabilities) > before or len(model._probabilities) > 0, (
        "pymicro_wakeword no longer appends to _probabilities"
    )
