"""The gazetteer stage on the example home: misheard names, follow-ups, questions, passes."""

from __future__ import annotations

import pytest

from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.simulate import load_example_home
from assistant.understanding.calls import IntentCall
from assistant.understanding.gazetteer import GazetteerResult, GazetteerStage
from assistant.understanding.gazetteer_home import build_home
from assistant.understanding.loader import discover
from assistant.understanding.targets import match_targets, query_from_slots


def example_registry() -> Registry:
    """The example home as discovery and the config would fill the registry."""
    home = load_example_home()
    registry = Registry()
    for area, floor in home.floors().items():
        registry.set_floor(area, floor)
    registry.extend(
        Entity(
            spec.entity_id,
            spec.friendly_name,
            spec.kind,
            "config",
            area=spec.area,
            aliases=spec.aliases,
            device_class=spec.device_class,
        )
        for spec in home.entities
    )
    return registry


class Clock:
    """A clock the test moves by hand, for the follow-up window."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def registry() -> Registry:
    discover()  # registers the built-in handlers the calls are validated against
    return example_registry()


@pytest.fixture
def stage(registry: Registry) -> GazetteerStage:
    stage = GazetteerStage(example_registry())
    stage.warm()
    return stage


def acted_on(stage: GazetteerStage, result: GazetteerResult) -> list[list[str]]:
    """The entity ids each call would reach, found the way the handlers find them."""
    return [
        sorted(e.entity_id for e in match_targets(stage.registry, query_from_slots(dict(c.slots))))
        for c in result.calls
    ]


def test_the_home_carries_ids_names_aliases_areas_and_floors(registry: Registry) -> None:
    home = build_home(registry)
    assert home["entities"]["light.kitchen_ceiling"] == {
        "name": "Kitchen Ceiling",
        "aliases": ["big light"],
        "domain": "light",
        "area": "Kitchen",
    }
    assert home["entities"]["cover.garage_door"]["device_class"] == "garage"
    assert home["areas"]["Bedroom"] == {"name": "Bedroom", "floor": "First Floor"}
    assert home["areas"]["Garden"]["floor"] is None
    assert set(home["floors"]) == {"Ground Floor", "First Floor"}


def test_a_misheard_name_resolves_to_the_device(stage: GazetteerStage) -> None:
    result = stage.understand("turn on the kitchen sealing light", origin_key="cli")
    assert result.calls == (IntentCall("HassTurnOn", {"name": "Kitchen Ceiling"}),)
    assert acted_on(stage, result) == [["light.kitchen_ceiling"]]
    assert not result.passed
    assert result.refusal is None

    lamp = stage.understand("set the reading lump to 40 percent", origin_key="cli")
    assert lamp.calls == (IntentCall("HassLightSet", {"name": "Reading Lamp", "brightness": 40}),)
    assert lamp.responses == ("brightness",)


def test_compound_command_gives_one_call_per_part(stage: GazetteerStage) -> None:
    result = stage.understand(
        "turn off the kitchen lights and open the bedroom curtains", origin_key="cli"
    )
    assert result.calls == (
        IntentCall("HassTurnOff", {"area": "Kitchen", "domain": "light"}),
        IntentCall("HassTurnOn", {"name": "Bedroom Curtains"}),
    )
    assert acted_on(stage, result) == [
        ["light.kitchen_ceiling", "light.kitchen_counter_strip"],
        ["cover.bedroom_curtains"],
    ]


def test_turn_it_off_refers_to_the_last_device_of_that_conversation(
    registry: Registry,
) -> None:
    clock = Clock()
    stage = GazetteerStage(example_registry(), clock=clock)
    stage.understand("switch on the desk lam", origin_key="voice")
    result = stage.understand("turn it off", origin_key="voice")
    assert result.calls == (IntentCall("HassTurnOff", {"name": "Desk Lamp"}),)

    # Another channel's conversation has nothing for "it" to refer to.
    other = stage.understand("turn it off", origin_key="mqtt:hall")
    assert other.calls == ()
    assert other.refusal is not None
    assert "it" in other.refusal

    clock.now += 301  # past the follow-up window
    late = stage.understand("turn it on", origin_key="voice")
    assert late.calls == ()
    assert late.refusal is not None


def test_template_results_become_follow_up_targets(stage: GazetteerStage) -> None:
    stage.note_targets("cli", [IntentCall("HassTurnOn", {"name": "garage light"})])
    result = stage.understand("turn it off", origin_key="cli")
    assert result.calls == (IntentCall("HassTurnOff", {"name": "Garage Light"}),)

    stage.note_targets("cli", [IntentCall("HassTurnOn", {"area": "Bedroom", "domain": "light"})])
    group = stage.understand("turn them off", origin_key="cli")
    assert group.calls == (IntentCall("HassTurnOff", {"area": "Bedroom", "domain": "light"}),)
    assert acted_on(stage, group) == [["light.bedroom_ceiling", "light.bedside_lamp"]]


def test_an_ambiguous_name_asks_which_one_and_follows_the_registry(
    stage: GazetteerStage,
) -> None:
    assert stage.understand("turn on the reading lamp", origin_key="cli").calls
    # A second lamp of the same name arrives: the stage hears of it.
    second = Entity("light.bedroom_reading_lamp", "Reading Lamp", "light", "config", area="Bedroom")
    stage.registry.upsert(second)
    result = stage.understand("turn on the reading lamp", origin_key="cli")
    assert result.calls == ()
    assert result.refusal == "Which one: Reading Lamp in Bedroom or Reading Lamp in Living Room?"

    # The satellite's own room settles it, and the call keeps that room so the
    # handlers reach that lamp alone.
    here = stage.understand("turn on the reading lamp", origin_key="cli", context_area="Bedroom")
    assert here.calls == (IntentCall("HassTurnOn", {"name": "Reading Lamp", "area": "Bedroom"}),)
    assert acted_on(stage, here) == [["light.bedroom_reading_lamp"]]
    named = stage.understand("turn on the reading lamp in the bedroom", origin_key="cli")
    assert acted_on(stage, named) == [["light.bedroom_reading_lamp"]]

    stage.registry.remove("light.bedroom_reading_lamp")
    again = stage.understand("turn on the reading lamp", origin_key="cli")
    assert acted_on(stage, again) == [["light.reading_lamp"]]


@pytest.mark.parametrize(
    "text", ["hello", "tell me a joke", "thank you so much", "what is the weather like", ""]
)
def test_chit_chat_and_intents_without_a_handler_pass(stage: GazetteerStage, text: str) -> None:
    result = stage.understand(text, origin_key="cli")
    assert result.passed
    assert result.calls == ()
    assert result.refusal is None


def test_an_indirect_request_is_left_to_the_model(stage: GazetteerStage) -> None:
    assert stage.understand("it is too dark in the bedroom", origin_key="cli").passed


def test_an_impossible_value_is_refused(stage: GazetteerStage) -> None:
    result = stage.understand("set the desk fan to 500 percent", origin_key="cli")
    assert result.calls == ()
    assert result.refusal is not None
    assert "100%" in result.refusal


def test_an_unknown_satellite_area_is_ignored(stage: GazetteerStage) -> None:
    result = stage.understand("turn on the desk lamp", origin_key="cli", context_area="Attic")
    assert result.calls == (IntentCall("HassTurnOn", {"name": "Desk Lamp"}),)


@pytest.mark.parametrize("language", ["de", "ko", "fr-FR"])
def test_other_languages_pass(registry: Registry, language: str) -> None:
    stage = GazetteerStage(registry, language=language)
    assert stage.understand("schalte das Küchenlicht ein", origin_key="cli").passed
    # Even an English sentence: the home's language decides, not the words.
    assert stage.understand("turn on the kitchen sealing light", origin_key="cli").passed
    stage.note_targets("cli", [IntentCall("HassTurnOn", {"name": "Desk Lamp"})])
    assert stage.previous_targets("cli") == ()


@pytest.mark.parametrize("language", ["en", "en-GB", "en_US"])
def test_english_variants_are_read(registry: Registry, language: str) -> None:
    stage = GazetteerStage(registry, language=language)
    assert stage.understand("turn on the big light", origin_key="cli").calls == (
        IntentCall("HassTurnOn", {"name": "Kitchen Ceiling"}),
    )


def test_a_kind_the_intent_implies_is_not_a_slot(stage: GazetteerStage) -> None:
    result = stage.understand(
        "make the living room lights seventy five percent bright", origin_key="cli"
    )
    # HassLightSet takes no domain: the call must still be one its handler runs.
    assert result.calls == (IntentCall("HassLightSet", {"area": "Living Room", "brightness": 75}),)
    assert result.responses == ("brightness",)


def test_a_possessive_is_left_to_the_model_not_refused(stage: GazetteerStage) -> None:
    assert stage.understand("park the robot vacuum on its charger", origin_key="cli").passed


@pytest.mark.parametrize("text", ["lights out on the desk lamp", "robot vacuum, go home"])
def test_a_command_with_a_reversing_word_left_over_is_left_to_the_model(
    stage: GazetteerStage, text: str
) -> None:
    # The matcher reads these as "turn on" and "start": words it could not
    # place say the opposite, so acting would do the wrong thing.
    assert stage.understand(text, origin_key="cli").passed


LOCK = IntentCall("HassTurnOn", {"name": "Front Door"})
CLOSE = IntentCall("HassTurnOff", {"name": "Bedroom Curtains"})


@pytest.mark.parametrize(
    ("text", "call"),
    [
        ("make sure the front door is locked", LOCK),
        ("please make sure the front door is secured", LOCK),
        ("ensure the bedroom curtains are closed", CLOSE),
    ],
)
def test_a_state_said_as_an_order_is_an_action(
    stage: GazetteerStage, text: str, call: IntentCall
) -> None:
    # The matcher reads "make sure the front door is locked" as the question
    # "is it locked"; said as an order, the user wants it locked.
    result = stage.understand(text, origin_key="cli")
    assert result.calls == (call,)
    assert result.responses == (None,)
    question = stage.understand("is the front door locked", origin_key="cli")
    assert [c.intent for c in question.calls] == ["HassGetState"]
