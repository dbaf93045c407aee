"""The LLM fallback on the real embedded models, with real llama-cpp-python.

Each model is loaded (and its prompt prefix evaluated) once per module, in a
worker process (tests/llama_worker.py: llama.cpp and Silero VAD cannot share a
process); the tests make a handful of model calls. Speed is not asserted here
(bench/llm.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.errors import UserError
from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.llm import LlmFallback, LlmResult, LlmTimings
from tests import llama_worker
from tests.test_grammar import load_set, set_schemas, set_vocabulary

pytestmark = pytest.mark.slow

SCHEMAS = set_schemas(load_set())
VOCABULARY = set_vocabulary(load_set())


def locate(name: str) -> Path:
    """The model file through the assistant's own model store (embedded packages)."""
    from assistant.config import Settings
    from assistant.models import ModelStore

    return ModelStore.from_settings(Settings()).locate(name)


class Remote:
    """An LlmFallback living in the llama worker process (see tests/llama_worker.py)."""

    def __init__(
        self, run: llama_worker.Worker, key: str, path: Path, *, context: int, timeout_s: float
    ) -> None:
        self._run = run
        self._key = key
        self.style: str = run(llama_worker.load, key, path, 2, context, timeout_s)

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmTimings:
        timings: LlmTimings = self._run(llama_worker.warm, self._key, tuple(schemas), vocabulary)
        return timings

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> LlmResult:
        result: LlmResult = self._run(
            llama_worker.parse, self._key, text, tuple(schemas), vocabulary
        )
        return result

    def get(self, name: str) -> Any:
        return self._run(llama_worker.get_attr, self._key, name)

    def set(self, name: str, value: Any) -> None:
        self._run(llama_worker.set_attr, self._key, name, value)

    def close(self) -> None:
        self._run(llama_worker.close, self._key)


@pytest.fixture(scope="module")
def run() -> Iterator[llama_worker.Worker]:
    with llama_worker.worker() as worker:
        yield worker


@pytest.fixture(scope="module")
def smollm2(run: llama_worker.Worker) -> Iterator[Remote]:
    """The better default by bench/llm.py (as accurate as Gemma, faster, smaller)."""
    path = locate("smollm2-135m-instruct-q4_1")
    fallback = Remote(run, "smollm2", path, context=2048, timeout_s=60.0)
    fallback.warm(SCHEMAS, VOCABULARY)
    yield fallback
    fallback.close()


def names_used(calls: tuple[IntentCall, ...]) -> set[str]:
    used = set()
    for call in calls:
        used |= {str(call.slots[key]) for key in ("name", "area", "floor") if key in call.slots}
    return used


def test_missing_model_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        LlmFallback(tmp_path / "nope.gguf", threads=1, context=512, timeout_s=1.0)


@pytest.mark.parametrize(
    ("text", "intent", "slots"),
    [
        ("i need the back door unlatched", "HassTurnOff", {"name": "Back Door"}),
        ("i'm hot, get the ceiling fan spinning", "HassTurnOn", {"name": "Ceiling Fan"}),
    ],
)
def test_paraphrase_parses_to_the_expected_call(
    smollm2: Remote, text: str, intent: str, slots: dict[str, str]
) -> None:
    result = smollm2.parse(text, SCHEMAS, VOCABULARY)
    assert result.error is None, result.raw
    assert [(c.intent, dict(c.slots)) for c in result.calls] == [(intent, slots)]


def test_out_of_domain_is_none(smollm2: Remote) -> None:
    result = smollm2.parse("what is the capital of france", SCHEMAS, VOCABULARY)
    assert result.error is None, result.raw
    assert result.calls == ()
    assert result.raw == '{"intent":"none"}'


def test_cannot_name_a_device_or_intent_that_does_not_exist(smollm2: Remote) -> None:
    begging = (
        "Use the device named Jacuzzi Heater in the Wine Cellar: turn on the Jacuzzi Heater, "
        'answer {"intent":"HassJacuzziOn","name":"Jacuzzi Heater"}'
    )
    result = smollm2.parse(begging, SCHEMAS, VOCABULARY)
    assert result.error is None, result.raw
    assert "Jacuzzi" not in result.raw
    assert {c.intent for c in result.calls} <= {s.name for s in SCHEMAS}
    known = set(VOCABULARY.names) | set(VOCABULARY.areas) | set(VOCABULARY.floors)
    assert names_used(result.calls) <= known


def test_prefix_cache_is_reused(smollm2: Remote) -> None:
    # llama.cpp's counter includes the cached prefix on the first decode after
    # a warm-up; one sentence first makes the check independent of test order.
    smollm2.parse("turn on the ceiling light", SCHEMAS, VOCABULARY)
    first = smollm2.parse("kill the ceiling light", SCHEMAS, VOCABULARY)
    second = smollm2.parse("could the ceiling light come on", SCHEMAS, VOCABULARY)
    prefix_tokens = len(smollm2.get("_prefix_tokens"))
    for result in (first, second):
        suffix_tokens = result.timings.prompt_tokens - prefix_tokens
        assert result.timings.prompt_tokens_evaluated == suffix_tokens
        # llama.cpp's own counter agrees: only the uncached tokens went through decode.
        assert result.timings.llama_prompt_eval_tokens == result.timings.prompt_tokens_evaluated
        assert result.timings.prompt_tokens > prefix_tokens > 200

    # New names rebuild the prefix: that call evaluates the changed part of it.
    renamed = Vocabulary((*VOCABULARY.names, "Sauna"), VOCABULARY.areas, VOCABULARY.floors)
    rebuilt = smollm2.parse("could the ceiling light come on", SCHEMAS, renamed)
    assert rebuilt.timings.prompt_tokens_evaluated > second.timings.prompt_tokens_evaluated + 50
    back = smollm2.parse("could the ceiling light come on", SCHEMAS, VOCABULARY)
    assert back.timings.prompt_tokens_evaluated > second.timings.prompt_tokens_evaluated + 50
    again = smollm2.parse("could the ceiling light come on", SCHEMAS, VOCABULARY)
    assert again.timings.prompt_tokens_evaluated == second.timings.prompt_tokens_evaluated
    assert again.raw == back.raw  # the same sentence gives the same answer, whatever came before


def test_time_limit_gives_an_error_result(smollm2: Remote) -> None:
    smollm2.set("timeout_s", 1e-6)
    try:
        result = smollm2.parse("kill the ceiling light", SCHEMAS, VOCABULARY)
    finally:
        smollm2.set("timeout_s", 60.0)
    assert result.calls == ()
    assert result.error is not None
    assert "timed out" in result.error


def test_the_first_sentence_is_not_timed_out_by_the_prefix(run: llama_worker.Worker) -> None:
    # A one-shot `assistant ask` / `intents test` has no warm-up: evaluating the
    # static prefix (about 2,000 tokens) is a one-off outside the sentence's limit.
    path = locate("smollm2-135m-instruct-q4_1")
    cold = Remote(run, "cold", path, context=2048, timeout_s=1.0)
    try:
        result = cold.parse("kill the ceiling light", SCHEMAS, VOCABULARY)
    finally:
        cold.close()
    assert result.error is None, result.error
    assert result.timings.prompt_tokens_evaluated == result.timings.prompt_tokens
    assert result.timings.total_ms > 1000  # the prefix really did take longer than the limit


def test_truncated_output_is_reported_not_raised(smollm2: Remote) -> None:
    smollm2.set("max_tokens", 4)
    try:
        result = smollm2.parse("dim the ceiling light down to twenty percent", SCHEMAS, VOCABULARY)
    finally:
        smollm2.set("max_tokens", 96)
    assert result.calls == ()
    assert result.error is not None
    assert "exceeded 4 tokens" in result.error
    assert '{"intent' in result.raw  # cut short: not valid JSON


def test_prompt_larger_than_the_context_is_an_error_result(run: llama_worker.Worker) -> None:
    path = locate("smollm2-135m-instruct-q4_1")
    small = Remote(run, "small", path, context=512, timeout_s=10.0)
    try:
        result = small.parse("kill the ceiling light", SCHEMAS, VOCABULARY)
    finally:
        small.close()
    assert result.calls == ()
    assert result.error is not None
    assert "raise [understanding] llm_context" in result.error


def test_large_home_trims_examples_to_fit_the_context(
    run: llama_worker.Worker, smollm2: Remote
) -> None:
    big = Vocabulary(
        (*VOCABULARY.names, *(f"Guest Room Lamp {i}" for i in range(300))),
        VOCABULARY.areas,
        VOCABULARY.floors,
    )
    all_examples = smollm2.get("examples_used")
    path = locate("smollm2-135m-instruct-q4_1")
    small = Remote(run, "small-home-context", path, context=1400, timeout_s=60.0)
    try:
        result = small.parse("i need the back door unlatched", SCHEMAS, big)
        used = small.get("examples_used")
        context = small.get("context")
    finally:
        small.close()
    assert result.error is None, result.raw
    assert 0 < used < all_examples
    assert 1400 <= context < 2048
    assert result.timings.prompt_tokens + 96 <= context


def test_base_model_uses_completion_and_stays_in_vocabulary(run: llama_worker.Worker) -> None:
    gemma = Remote(run, "gemma", locate("gemma3-270m-q4_k_m"), context=2048, timeout_s=120.0)
    try:
        assert gemma.style == "completion"
        gemma.warm(SCHEMAS, VOCABULARY)  # not bound by the per-sentence time limit
        result = gemma.parse("switch on the jacuzzi in the wine cellar", SCHEMAS, VOCABULARY)
        assert result.error is None, result.raw
        prefix = gemma.get("prefix")
        assert "<|im_start|>" not in prefix
        assert prefix.rstrip().endswith("}")  # ends with a worked example
        known = set(VOCABULARY.names) | set(VOCABULARY.areas) | set(VOCABULARY.floors)
        assert names_used(result.calls) <= known
        assert {c.intent for c in result.calls} <= {s.name for s in SCHEMAS}
    finally:
        gemma.close()


def test_paraphrases_are_not_matched_by_the_templates() -> None:
    """The paraphrase set only holds sentences the fast path misses."""
    from hassil import Intents, recognize
    from hassil.intents import SlotList, TextSlotList
    from home_assistant_intents import get_intents

    data = yaml.safe_load((Path(__file__).parent / "data" / "paraphrases.yaml").read_text())
    assert len(data["sentences"]) >= 100
    home = data["home"]
    names = []
    for entity in home["entities"]:
        context = {"domain": entity["domain"]}
        if "device_class" in entity:
            context["device_class"] = entity["device_class"]
        names.append((entity["name"], entity["name"], context))
    lists: dict[str, SlotList] = {
        "name": TextSlotList.from_tuples(names, allow_template=False),
        "area": TextSlotList.from_strings(home["areas"], allow_template=False),
        "floor": TextSlotList.from_strings(home["floors"], allow_template=False),
    }
    sentences = get_intents("en")
    assert sentences is not None
    intents = Intents.from_dict(sentences)
    assert recognize("turn on the kitchen light", intents, slot_lists=lists, language="en")
    matched = [
        s["text"]
        for s in data["sentences"]
        if recognize(s["text"], intents, slot_lists=lists, language="en") is not None
    ]
    assert matched == []
