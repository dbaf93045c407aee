"""Sentences from Home Assistant's templates, sampled with hassil on a synthetic home.

Each template sentence is expanded with the home's own names (one name per
draw, so the expansions vary over numbers and wording rather than over the
list), a few expansions are picked with the seeded generator, and each is
matched back with hassil against the full home to get its slots: the label
is what the project's template matcher would have understood.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hassil import recognize
from hassil.intents import Intents, SlotList, TextSlotList
from hassil.sample import sample_sentence

from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.lists import build_slot_lists, entity_names, name_context
from assistant.understanding.sentences import load_templates
from assistant.understanding.validate import InvalidCall, validate_call

from .homes import Home
from .paraphrase import pattern_split

_EXPANSIONS = 200  # expansions read per template before picking


def template_split(template_id: str) -> str:
    """The split of one template sentence, from a stable hash of its id."""
    digest = hashlib.sha256(template_id.encode()).digest()
    return pattern_split(int.from_bytes(digest[:4], "big"))


def load_intents(
    schemas: Sequence[IntentSchema], language: str = "en", custom_files: Sequence[Path] = ()
) -> Intents:
    """HA's sentences (and a user's `custom_files`) for the intents these schemas describe."""
    return load_templates(language, custom_files, keep_intents=[s.name for s in schemas]).intents


def _one_of_each(home: Home, rng: random.Random) -> dict[str, SlotList]:
    entity = rng.choice(home.entities)
    names = [
        (text, text, name_context(entity)) for text in entity_names(entity)[: 1 + rng.randint(0, 1)]
    ]
    lists: dict[str, SlotList] = {"name": TextSlotList.from_tuples(names, allow_template=False)}
    areas = home.areas or ("Kitchen",)  # a home without areas still gets its names sampled
    lists["area"] = TextSlotList.from_strings([rng.choice(areas)], allow_template=False)
    floors = sorted(set(home.floors.values())) or ["Ground Floor"]
    lists["floor"] = TextSlotList.from_strings([rng.choice(floors)], allow_template=False)
    return lists


def _value(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def template_samples(
    home: Home,
    intents: Intents,
    schemas: Sequence[IntentSchema],
    rng: random.Random,
    *,
    per_intent: int,
    split: str | None = None,
) -> Iterator[tuple[str, str, list[IntentCall]]]:
    """(template id, sentence, calls) for up to `per_intent` sentences of each schema.

    With `split`, only template sentences of that split (``pattern_split`` of a
    stable hash of their id) are used, so test templates are never trained on.
    """
    by_name: Mapping[str, IntentSchema] = {s.name: s for s in schemas}
    full_lists = build_slot_lists(home.registry())
    vocabulary: Vocabulary = home.vocabulary()
    for schema in schemas:
        intent = intents.intents.get(schema.name)
        if intent is None:
            continue
        sentences = [
            (block_index, sentence_index, data, sentence)
            for block_index, data in enumerate(intent.data)
            for sentence_index, sentence in enumerate(data.sentences)
            if split is None
            or template_split(f"{schema.name}:{block_index}:{sentence_index}") == split
        ]
        slot_names = {spec.name for spec in schema.slots}
        made = 0
        for _ in range(per_intent * 4):
            if made >= per_intent or not sentences:
                break
            block, number, data, sentence = rng.choice(sentences)
            lists = {**intents.slot_lists, **_one_of_each(home, rng)}
            rules = {**intents.expansion_rules, **data.expansion_rules}
            try:
                texts = list(
                    itertools.islice(
                        sample_sentence(sentence, lists, rules, language="en"), _EXPANSIONS
                    )
                )
            except Exception:  # noqa: BLE001 - hassil raises bare errors for lists we do not fill
                continue
            texts = [" ".join(t.split()) for t in texts if "{" not in t and t.strip()]
            if not texts:
                continue
            text = rng.choice(texts)
            result = recognize(text, intents, slot_lists=full_lists, language="en")
            if result is None or result.intent.name != schema.name:
                continue
            slots = {k: _value(v.value) for k, v in result.entities.items() if k in slot_names}
            if any(isinstance(v, float) for v in slots.values()):
                continue  # the grammar only writes integers ("17.5 degrees" cannot be said)
            try:
                call = validate_call(IntentCall(schema.name, slots), by_name, vocabulary)
            except InvalidCall:
                continue
            made += 1
            yield f"template:{schema.name}:{block}:{number}", text, [call]
