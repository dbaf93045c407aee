"""Understanding on a registry filled in Python, with the recording executor.

Covers matching with live names, multi-target and compound commands, safety
confirmations (yes / no / timeout), out-of-domain and unknown-device
replies, LLM results being validated, timers, and the phrase list.  The
end-to-end versions over a real broker are in test_conformance / test_ask.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from assistant.config import parse
from assistant.devices.entities import Entity, EntityState
from assistant.devices.registry import Registry
from assistant.understanding.calls import IntentCall, IntentSchema, Vocabulary
from assistant.understanding.dryrun import RecordingExecutor
from assistant.understanding.engine import Understanding
from assistant.understanding.factory import build
from assistant.understanding.handlers import (
    HANDLERS,
    HandlerRegistry,
    IntentContext,
    intent_handler,
)
from assistant.understanding.loader import discover
from assistant.understanding.origin import Origin
from assistant.understanding.replies import load_replies
from assistant.understanding.sentences import load_templates

EN = load_replies("en")
CONFIRM_PROMPT = EN.say("confirm")
OUT_OF_DOMAIN = EN.out_of_domain


def _entity(entity_id: str, name: str, area: str | None = None, **kw: object) -> Entity:
    return Entity(entity_id, name, entity_id.split(".", maxsplit=1)[0], "config", area=area, **kw)  # type: ignore[arg-type]


def home() -> Registry:
    registry = Registry()
    registry.extend(
        [
            _entity("light.kitchen_ceiling", "Kitchen Ceiling", "Kitchen"),
            _entity("light.kitchen_counter", "Counter Light", "Kitchen"),
            _entity("light.bedroom_lamp", "Bedroom Lamp", "Bedroom", aliases=("night light",)),
            _entity("fan.ceiling", "Ceiling Fan", "Living Room"),
            _entity("fan.extractor", "Extractor", "Kitchen"),
            _entity("lock.front_door", "Front Door", "Entrance"),
            _entity("cover.garage_door", "Garage Door", "Garage", device_class="garage"),
            _entity("cover.blind", "Office Blind", "Office", device_class="blind"),
            _entity("climate.thermostat", "Thermostat", "Living Room"),
            _entity("vacuum.rover", "Rover", "Living Room"),
            _entity("scene.movie", "Movie Time"),
        ]
    )
    registry.set_state("light.kitchen_ceiling", "on")
    registry.set_state("light.kitchen_counter", "off")
    registry.set_state("light.bedroom_lamp", "on")
    registry.set_state("cover.garage_door", "closed")
    registry.set_state("climate.thermostat", "heat", {"current_temperature": 21})
    return registry


def make(
    registry: Registry | None = None, **kwargs: object
) -> tuple[Understanding, RecordingExecutor]:
    registry = registry or home()
    sources = discover()
    templates = load_templates("en", sources.yaml_files, keep_intents=HANDLERS.names())
    executor = RecordingExecutor(registry)
    return Understanding(registry, executor, templates, **kwargs), executor  # type: ignore[arg-type]


def _put(queue: asyncio.Queue[str]) -> Callable[[str], Awaitable[None]]:
    async def announce(text: str) -> None:
        await queue.put(text)

    return announce


def did(executor: RecordingExecutor) -> set[tuple[str, str]]:
    return {(a.entity_id, a.action) for a in executor.actions}


async def test_name_and_reply_from_templates() -> None:
    understanding, executor = make()
    outcome = await understanding.process("turn on the bedroom lamp")
    assert outcome.intent == "HassTurnOn"
    assert outcome.handled_by == "template"
    assert dict(outcome.slots) == {"name": "Bedroom Lamp"}
    assert did(executor) == {("light.bedroom_lamp", "turn_on")}
    assert outcome.reply == "Turned on the light"


async def test_alias_is_a_name() -> None:
    understanding, executor = make()
    await understanding.process("turn off the night light")
    assert did(executor) == {("light.bedroom_lamp", "turn_off")}


async def test_multi_target_area_and_domain() -> None:
    understanding, executor = make()
    outcome = await understanding.process("turn off the lights in the kitchen")
    assert outcome.slots == {"area": "Kitchen", "domain": "light"}
    assert did(executor) == {
        ("light.kitchen_ceiling", "turn_off"),
        ("light.kitchen_counter", "turn_off"),
    }
    assert outcome.reply == "Turned off the lights"


async def test_compound_command_does_both() -> None:
    understanding, executor = make()
    outcome = await understanding.process("turn off the kitchen ceiling and the ceiling fan")
    assert did(executor) == {("light.kitchen_ceiling", "turn_off"), ("fan.ceiling", "turn_off")}
    assert [c.intent for c in outcome.calls] == ["HassTurnOff", "HassTurnOff"]
    assert outcome.to_json()["calls"][1]["slots"] == {"name": "Ceiling Fan"}


async def test_compound_part_takes_the_first_parts_room() -> None:
    understanding, executor = make()
    await understanding.process("turn off the kitchen ceiling and the fan")
    assert did(executor) == {("light.kitchen_ceiling", "turn_off"), ("fan.extractor", "turn_off")}


async def test_compound_whose_last_word_says_what_to_do() -> None:
    # Alone, "the bedroom lamp" matches Home Assistant's bare-name template,
    # which turns it on: the closing "off" is every part's.
    understanding, executor = make()
    await understanding.process("the bedroom lamp and the ceiling fan off")
    assert did(executor) == {("light.bedroom_lamp", "turn_off"), ("fan.ceiling", "turn_off")}


async def test_compound_with_two_verbs() -> None:
    understanding, executor = make()
    await understanding.process("turn on the bedroom lamp and open the office blind")
    assert did(executor) == {("light.bedroom_lamp", "turn_on"), ("cover.blind", "open")}


async def test_light_set_brightness_colour_temperature() -> None:
    understanding, executor = make()
    await understanding.process("set the bedroom lamp to 40%")
    await understanding.process("make the bedroom lamp blue")
    await understanding.process("set the bedroom lamp color temperature to 2700 kelvin")
    params = [(a.action, dict(a.params)) for a in executor.actions]
    assert params == [
        ("set_brightness", {"brightness": 40}),
        ("set_color", {"color": "blue"}),
        ("set_color", {"color_temp_kelvin": 2700}),
    ]


async def test_unlock_needs_yes() -> None:
    understanding, executor = make()
    me = Origin("test")
    asked = await understanding.process("unlock the front door", origin=me)
    assert asked.reply == CONFIRM_PROMPT
    assert asked.awaiting_confirmation
    assert executor.actions == []
    done = await understanding.process("yes", origin=me)
    assert did(executor) == {("lock.front_door", "unlock")}
    assert done.reply == "Unlocking"


async def test_garage_door_no_cancels() -> None:
    understanding, executor = make()
    me = Origin("test")
    assert (await understanding.process("open the garage door", origin=me)).reply == (
        CONFIRM_PROMPT
    )
    outcome = await understanding.process("no", origin=me)
    assert executor.actions == []
    assert "cancel" in outcome.reply.lower()
    # Locking and closing never ask.
    await understanding.process("lock the front door", origin=me)
    await understanding.process("close the garage door", origin=me)
    assert did(executor) == {("lock.front_door", "lock"), ("cover.garage_door", "close")}


async def test_confirmation_times_out() -> None:
    said: asyncio.Queue[str] = asyncio.Queue()

    understanding, executor = make(confirm_seconds=0.2, announce=_put(said))
    me = Origin("test")
    await understanding.process("unlock the front door", origin=me)
    async with asyncio.timeout(5):
        assert "cancel" in (await said.get()).lower()
    late = await understanding.process("yes", origin=me)
    assert executor.actions == []
    assert late.intent is None or "cancel" in late.reply.lower() or late.reply == OUT_OF_DOMAIN


async def test_per_entity_window_and_sensitive_override() -> None:
    settings = parse(
        {
            "mqtt": {"enabled": False},
            "understanding": {"llm": "off", "confirm_seconds": 30},
            "entities": {
                "lock.front_door": {"confirm_seconds": 0.1},
                "light.bedroom_lamp": {"sensitive": True},
            },
        }
    )
    registry = home()
    executor = RecordingExecutor(registry)
    understanding, _ = build(settings, registry, executor, entry_points=False)
    assert understanding.confirm_window(registry.get("lock.front_door")) == 0.1  # type: ignore[arg-type]
    me = Origin("test")
    asked = await understanding.process("turn on the bedroom lamp", origin=me)
    assert asked.reply == CONFIRM_PROMPT
    await understanding.process("unlock the front door", origin=me)
    await asyncio.sleep(0.3)
    assert (await understanding.process("yes", origin=me)).actions == ()
    assert executor.actions == []


async def test_out_of_domain_acts_on_nothing() -> None:
    understanding, executor = make()
    outcome = await understanding.process("what is the capital of France")
    assert outcome.intent is None
    assert outcome.handled_by is None
    assert executor.actions == []
    assert outcome.reply == OUT_OF_DOMAIN


async def test_unknown_device_is_named() -> None:
    understanding, executor = make()
    outcome = await understanding.process("turn on the pool pump")
    assert executor.actions == []
    assert "pool pump" in outcome.reply.lower()


async def test_names_follow_the_registry() -> None:
    registry = home()
    understanding, executor = make(registry)
    assert (await understanding.process("turn on the porch light")).intent is None
    registry.upsert(_entity("light.porch", "Porch Light", "Outside"))
    outcome = await understanding.process("turn on the porch light")
    assert outcome.intent == "HassTurnOn"
    assert did(executor) == {("light.porch", "turn_on")}
    registry.remove("light.porch")
    assert (await understanding.process("turn on the porch light")).intent is None


async def test_questions() -> None:
    understanding, _ = make(area="Living Room")
    assert (await understanding.process("is the garage door open")).reply == "No, closed"
    which = await understanding.process("which lights are on")
    assert which.reply == "Bedroom Lamp and Kitchen Ceiling"
    temperature = await understanding.process("what is the temperature")
    assert temperature.intent == "HassClimateGetTemperature"
    assert "21" in temperature.reply
    assert (await understanding.process("what time is it")).intent == "HassGetCurrentTime"


async def test_area_context_for_here() -> None:
    understanding, executor = make(area="Kitchen")
    await understanding.process("turn on the lights")
    assert did(executor) == {
        ("light.kitchen_ceiling", "turn_on"),
        ("light.kitchen_counter", "turn_on"),
    }


async def test_vacuum_scene_climate_fan() -> None:
    understanding, executor = make()
    await understanding.process("start the rover")
    await understanding.process("activate movie time")
    await understanding.process("set the thermostat to 19 degrees")
    await understanding.process("set the ceiling fan speed to 30%")
    assert [(a.entity_id, a.action, dict(a.params)) for a in executor.actions] == [
        ("vacuum.rover", "start", {}),
        ("scene.movie", "activate", {}),
        ("climate.thermostat", "set_temperature", {"temperature": 19}),
        ("fan.ceiling", "set_fan_speed", {"percentage": 30}),
    ]


async def test_timer_announces_and_runs_commands() -> None:
    said: asyncio.Queue[str] = asyncio.Queue()
    understanding, executor = make(announce=_put(said))
    started = await understanding.process("set a timer for 1 second")
    assert started.intent == "HassStartTimer"
    status = await understanding.process("how much time is left on my timer")
    assert status.intent == "HassTimerStatus"
    await understanding.process("turn off the bedroom lamp in 1 second")
    async with asyncio.timeout(10):
        announced = {await said.get(), await said.get()}
    assert "Your timer is done" in announced
    assert did(executor) == {("light.bedroom_lamp", "turn_off")}
    understanding.close()


async def test_timer_pause_cancel() -> None:
    understanding, _ = make()
    await understanding.process("set a 5 minute timer named pizza")
    assert (await understanding.process("pause the pizza timer")).intent == "HassPauseTimer"
    assert understanding.timers.timers()[0].is_active is False
    await understanding.process("resume the pizza timer")
    assert understanding.timers.timers()[0].is_active is True
    await understanding.process("add 2 minutes to the pizza timer")
    assert understanding.timers.timers()[0].remaining() > 400
    await understanding.process("cancel the pizza timer")
    assert understanding.timers.timers() == []
    missing = await understanding.process("cancel the pizza timer")
    assert "couldn't find" in missing.reply


class ScriptedModel:
    """Stands in for the GGUF model: answers from a table (the engine is under test)."""

    def __init__(self, answers: dict[str, list[IntentCall] | None]) -> None:
        self.answers = answers
        self.seen: list[Vocabulary] = []

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> list[IntentCall] | None:
        self.seen.append(vocabulary)
        return self.answers.get(text)

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> None:
        """Nothing to prepare."""


class WarmingModel(ScriptedModel):
    """Records when the engine asks it to prepare its prompt, and with which names."""

    def __init__(self) -> None:
        super().__init__({})
        self.warmed: list[tuple[str, ...]] = []
        self.changed = asyncio.Event()

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> None:
        self.warmed.append(tuple(vocabulary.names))
        self.changed.set()


async def test_the_llm_prompt_is_prepared_at_start_and_again_after_the_devices_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.understanding import warmup

    monkeypatch.setattr(warmup, "WARM_UP_DELAY", 0.05)
    model = WarmingModel()
    registry = home()
    understanding, _ = make(registry, llm_mode="fallback", fallback=model)
    understanding.start_warm_up()
    async with asyncio.timeout(5):
        await model.changed.wait()
    assert "Bedroom Lamp" in model.warmed[0]
    # A burst of new devices gives one new warm-up, with the new names, after it.
    model.changed.clear()
    for i in range(5):
        registry.upsert(_entity(f"light.guest_{i}", f"Guest Lamp {i}", "Guest Room"))
    async with asyncio.timeout(5):
        await model.changed.wait()
    await asyncio.sleep(0.2)
    assert len(model.warmed) == 2
    assert "Guest Lamp 4" in model.warmed[1]
    understanding.close()


async def test_a_models_call_on_a_cover_is_answered_as_home_assistant_answers_covers() -> None:
    # The model's HassTurnOff carries no response name: Home Assistant's default
    # one knows no covers and said "Turned off None".
    model = ScriptedModel(
        {"pull down the office blind": [IntentCall("HassTurnOff", {"name": "Office Blind"})]}
    )
    understanding, executor = make(llm_mode="fallback", fallback=model)
    outcome = await understanding.process("pull down the office blind")
    assert did(executor) == {("cover.blind", "close")}
    assert outcome.reply == "Closing"


async def test_llm_fallback_is_validated() -> None:
    model = ScriptedModel(
        {
            "it is too dark in the bedroom": [
                IntentCall("HassTurnOn", {"area": "bedroom", "domain": "light"})
            ],
            "invent a device": [IntentCall("HassTurnOn", {"name": "Pool Pump"})],
            "dim it beyond reason": [IntentCall("HassLightSet", {"brightness": 400})],
            "nonsense intent": [IntentCall("HassSelfDestruct", {})],
            "i need the best lamp on please": [IntentCall("HassTurnOff", {})],
            "spin the door": [
                IntentCall("HassFanSetSpeed", {"name": "Front Door", "percentage": 5})
            ],
        }
    )
    understanding, executor = make(llm_mode="fallback", fallback=model)
    outcome = await understanding.process("it is too dark in the bedroom")
    assert outcome.handled_by == "llm"
    assert outcome.slots["area"] == "Bedroom"  # canonical name
    assert did(executor) == {("light.bedroom_lamp", "turn_on")}
    assert outcome.timings_ms["llm"] >= 0
    for text in (
        "invent a device",
        "dim it beyond reason",
        "nonsense intent",
        "spin the door",
        "i need the best lamp on please",  # no target: would turn off everything
    ):
        refused = await understanding.process(text)
        assert refused.actions == ()
        assert not refused.reply.endswith("?")  # refused, not a question to confirm
    assert len(executor.actions) == 1
    assert "Bedroom Lamp" in model.seen[0].names
    # Templates still come first in fallback mode.
    assert (await understanding.process("turn on the bedroom lamp")).handled_by == "template"


async def test_schemas_cover_the_handlers() -> None:
    understanding, _ = make()
    names = {s.name for s in understanding.schemas()}
    assert {"HassTurnOn", "HassLightSet", "HassStartTimer", "HassGetState"} <= names
    light_set = next(s for s in understanding.schemas() if s.name == "HassLightSet")
    brightness = next(s for s in light_set.slots if s.name == "brightness")
    assert (brightness.minimum, brightness.maximum) == (0, 100)


async def test_phrases_follow_names() -> None:
    registry = home()
    understanding, _ = make(registry)
    phrases = understanding.phrases()
    assert "turn on the bedroom lamp" in phrases
    assert not any("unlock the ceiling fan" in p for p in phrases)
    assert all(p == p.lower() and not any(ch.isdigit() for ch in p) for p in phrases)
    registry.upsert(_entity("light.porch", "Porch Light", "Outside"))
    assert any("porch light" in p for p in understanding.phrases())
    assert len(understanding.phrases(max_phrases=100)) <= 20000


@pytest.mark.parametrize("text", ["", "   "])
async def test_empty_input(text: str) -> None:
    understanding, executor = make()
    outcome = await understanding.process(text)
    assert outcome.intent is None
    assert executor.actions == []


async def test_state_changes_do_not_rebuild_lists() -> None:
    registry = home()
    understanding, _ = make(registry)
    lists = understanding.matcher.slot_lists
    registry.set_state("light.bedroom_lamp", "off")
    assert understanding.matcher.slot_lists is lists
    registry.upsert(_entity("light.new", "New Light"), EntityState("off"))
    assert understanding.matcher.slot_lists is not lists


async def test_intent_marked_sensitive_asks_first(tmp_path: Path) -> None:
    handlers = HandlerRegistry()
    opened: list[str] = []

    @intent_handler("OpenSafe", sensitive=True, registry=handlers)
    async def open_safe(ctx: IntentContext) -> str | None:
        opened.append("safe")
        return "The safe is open"

    sentences = tmp_path / "safe.yaml"
    sentences.write_text(
        "language: en\nintents:\n  OpenSafe:\n    data:\n      - sentences: ['open the safe']\n",
        encoding="utf-8",
    )
    registry = home()
    templates = load_templates("en", [sentences], keep_intents=handlers.names())
    understanding = Understanding(
        registry, RecordingExecutor(registry), templates, handlers=handlers
    )
    me = Origin("test")
    assert (await understanding.process("open the safe", origin=me)).reply == CONFIRM_PROMPT
    assert opened == []
    assert (await understanding.process("yes", origin=me)).reply == "The safe is open"
    assert opened == ["safe"]


async def test_llm_guess_is_confirmed_before_acting() -> None:
    model = ScriptedModel(
        {"it is too dark in the bedroom": [IntentCall("HassTurnOn", {"name": "Bedroom Lamp"})]}
    )
    understanding, executor = make(llm_mode="fallback", fallback=model, confirm_llm=True)
    asked = await understanding.process("it is too dark in the bedroom")
    assert asked.handled_by == "llm"
    assert asked.reply == "Did you mean: turn on Bedroom Lamp?"
    assert asked.awaiting_confirmation
    assert executor.actions == []
    done = await understanding.process("yes")
    assert did(executor) == {("light.bedroom_lamp", "turn_on")}
    assert done.handled_by == "llm"
    await understanding.process("it is too dark in the bedroom")
    refused = await understanding.process("no")
    assert refused.actions == ()
    assert len(executor.actions) == 1
    # Template matches are not second-guessed.
    assert (await understanding.process("turn off the bedroom lamp")).actions


def test_compound_connectors_come_from_the_language() -> None:
    from assistant.understanding.compound import CompoundSplitter

    english = CompoundSplitter(EN.compound_connectors, home())
    assert english.split("turn on the lamp, and then open the blind") == [
        "turn on the lamp",
        "open the blind",
    ]
    assert english.split("turn on the lamp then open the blind") == [
        "turn on the lamp",
        "open the blind",
    ]
    assert english.split("turn on the sandy lamp") == ["turn on the sandy lamp"]
    korean = CompoundSplitter(load_replies("ko").compound_connectors, home())
    assert korean.split("거실 불 켜고 그리고 선풍기 꺼") == ["거실 불 켜고 그리고 선풍기 꺼"]


def test_a_did_you_mean_question_reads_like_speech() -> None:
    from assistant.understanding.outcome import describe_call

    assert describe_call(IntentCall("HassTurnOn", {"area": "Bedroom", "domain": "light"})) == (
        "turn on the lights in the Bedroom"
    )
    off = IntentCall("HassTurnOff", {"floor": "Upstairs", "domain": "fan"})
    assert describe_call(off) == "turn off the fans Upstairs"
    dim = IntentCall("HassLightSet", {"name": "Floor Lamp", "brightness": 30})
    assert describe_call(dim) == "light set Floor Lamp, brightness 30"
