"""Few-shot examples for the LLM prompt, generated from Home Assistant's templates.

hassil expands a few templates of each intent with a small example home (its
names are deliberately not the user's, so the model learns the form and takes
the names from the live list); every sample is matched back with hassil to get
its slots. The choice is seeded, so the prompt prefix is byte-identical from
one run to the next. Compound and "none" examples are written by hand: the
templates have neither.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from functools import cache
from typing import Any

from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.validate import InvalidCall, validate_call

Example = tuple[str, list[IntentCall]]

# The example home: (name, domain, device_class or "", area).
EXAMPLE_ENTITIES = (
    ("Reading Lamp", "light", "", "Study"),
    ("Hall Light", "light", "", "Hallway"),
    ("Attic Fan", "fan", "", "Attic"),
    ("Shed Door", "cover", "garage", "Shed"),
    ("Patio Lock", "lock", "", "Patio"),
    ("Heater", "climate", "", "Study"),
    ("Dusty", "vacuum", "", "Hallway"),
)
EXAMPLE_AREAS = ("Study", "Hallway", "Attic", "Shed", "Patio")
EXAMPLE_FLOORS = ("Top Floor",)
EXAMPLE_VOCABULARY = Vocabulary(
    names=tuple(entity[0] for entity in EXAMPLE_ENTITIES),
    areas=EXAMPLE_AREAS,
    floors=EXAMPLE_FLOORS,
)


def _call(intent: str, **slots: object) -> list[IntentCall]:
    return [IntentCall(intent, slots)]


# Everyday phrasings the templates do not cover, in the example home only. When
# a big home leaves no room in the context, LlmFallback drops examples from the
# front: the template ones first, these compound and "none" ones last.
HAND_WRITTEN: tuple[Example, ...] = (
    ("could you put the hall light on for me", _call("HassTurnOn", name="Hall Light")),
    ("i don't need the reading lamp any more", _call("HassTurnOff", name="Reading Lamp")),
    ("it's gloomy in the study", _call("HassTurnOn", area="Study", domain="light")),
    ("no lights needed in the hallway", _call("HassTurnOff", area="Hallway", domain="light")),
    (
        "make the hall light 40 percent bright",
        _call("HassLightSet", name="Hall Light", brightness=40),
    ),
    ("reading lamp in purple please", _call("HassLightSet", name="Reading Lamp", color="purple")),
    (
        "the attic fan should run at 60 percent",
        _call("HassFanSetSpeed", name="Attic Fan", percentage=60),
    ),
    ("get the attic fan going", _call("HassTurnOn", name="Attic Fan")),
    ("shut the shed door", _call("HassTurnOff", name="Shed Door")),
    ("shed door open to 30 percent", _call("HassSetPosition", name="Shed Door", position=30)),
    ("please lock up the patio lock", _call("HassTurnOn", name="Patio Lock")),
    ("let me in through the patio lock", _call("HassTurnOff", name="Patio Lock")),
    ("warm the place up to 22 degrees", _call("HassClimateSetTemperature", temperature=22)),
    ("how warm is the study", _call("HassClimateGetTemperature", area="Study")),
    ("is the patio lock unlocked", _call("HassGetState", name="Patio Lock", state="unlocked")),
    ("is the hall light still on", _call("HassGetState", name="Hall Light", state="on")),
    ("dusty, clean the floors", _call("HassVacuumStart", name="Dusty")),
    ("send dusty back to charge", _call("HassVacuumReturnToBase", name="Dusty")),
    ("what hour is it", _call("HassGetCurrentTime")),
    ("what day is it today", _call("HassGetCurrentDate")),
    ("set a timer for 3 minutes", _call("HassStartTimer", minutes=3)),
    ("never mind that", _call("HassNevermind")),
    (
        "switch off the reading lamp and the attic fan",
        [
            IntentCall("HassTurnOff", {"name": "Reading Lamp"}),
            IntentCall("HassTurnOff", {"name": "Attic Fan"}),
        ],
    ),
    (
        "lock the patio lock and close the shed door",
        [
            IntentCall("HassTurnOn", {"name": "Patio Lock"}),
            IntentCall("HassTurnOff", {"name": "Shed Door"}),
        ],
    ),
    ("what is the tallest mountain in the world", []),
    ("sing me a song", []),
)


@cache
def _intents_and_lists(language: str) -> tuple[Any, dict[str, Any]]:
    from hassil import Intents
    from hassil.intents import TextSlotList
    from home_assistant_intents import get_intents

    data = get_intents(language)
    if data is None:
        raise ValueError(f"no Home Assistant sentences for language {language!r}")
    names = []
    for name, domain, device_class, _area in EXAMPLE_ENTITIES:
        context = {"domain": domain}
        if device_class:
            context["device_class"] = device_class
        names.append((name, name, context))
    lists = {
        "name": TextSlotList.from_tuples(names, allow_template=False),
        "area": TextSlotList.from_strings(list(EXAMPLE_AREAS), allow_template=False),
        "floor": TextSlotList.from_strings(list(EXAMPLE_FLOORS), allow_template=False),
    }
    return Intents.from_dict(data), lists


def template_examples(
    schemas: Sequence[IntentSchema], *, per_intent: int = 1, language: str = "en", seed: int = 7
) -> list[Example]:
    """`per_intent` sampled sentences for each schema that HA's templates know, with calls."""
    from hassil import recognize
    from hassil.sample import sample_sentence

    intents, lists = _intents_and_lists(language)
    by_name = {schema.name: schema for schema in schemas}
    vocabulary = EXAMPLE_VOCABULARY
    rng = random.Random(seed)
    examples: list[Example] = []
    for schema in schemas:
        intent = intents.intents.get(schema.name)
        if intent is None:
            continue
        slot_names = {spec.name for spec in schema.slots}
        candidates: list[str] = []
        for data in intent.data:
            rules = {**intents.expansion_rules, **data.expansion_rules}
            for sentence in data.sentences:
                expansions = sample_sentence(
                    sentence, {**intents.slot_lists, **lists}, rules, language=language
                )
                try:
                    candidates.extend(itertools.islice(expansions, 50))
                except Exception:  # noqa: BLE001 - templates needing lists we do not fill
                    continue
        # Short, fully expanded sentences make the clearest examples.
        # Sorted on (length, text): a set's order changes with PYTHONHASHSEED.
        unique = {" ".join(c.split()) for c in candidates if "{" not in c}
        candidates = sorted(unique, key=lambda c: (len(c), c))
        candidates = candidates[: max(1, len(candidates) // 3)]
        rng.shuffle(candidates)
        valid: list[Example] = []
        for text in candidates:
            result = recognize(text, intents, slot_lists=lists, language=language)
            if result is None or result.intent.name != schema.name:
                continue
            slots = {
                k: int(v.value) if isinstance(v.value, float) and v.value.is_integer() else v.value
                for k, v in result.entities.items()
                if k in slot_names
            }
            try:
                call = validate_call(IntentCall(schema.name, slots), by_name, vocabulary)
            except InvalidCall:
                continue  # e.g. a sampled number outside our schema's range
            valid.append((text.lower(), [call]))
            if len(valid) >= 12:
                break
        # Prefer examples that name a device: that is what people mostly say.
        valid.sort(key=lambda ex: "name" not in ex[1][0].slots)
        examples.extend(valid[:per_intent])
    return examples


def default_examples(schemas: Sequence[IntentSchema], *, language: str = "en") -> list[Example]:
    """Template samples for the given schemas plus the hand-written compound/none ones."""
    by_name = {schema.name: schema for schema in schemas}
    hand = []
    for text, calls in HAND_WRITTEN:
        try:
            checked = [validate_call(c, by_name, EXAMPLE_VOCABULARY) for c in calls]
        except InvalidCall:
            continue  # an intent or slot these schemas do not have
        hand.append((text, checked))
    return template_examples(schemas, language=language) + hand
