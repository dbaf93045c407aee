"""Who may ask for what: one conversation per origin, sensitive actions by what a device is.

A "yes" answers only the question asked on the same origin, within its
window; an origin that may not ask for sensitive actions is refused them with
a spoken reply and nothing reaches a device; the policy follows the domain and
device class, whatever the device is called; a Korean home is asked and
answered in Korean.  Real templates, real handlers, the recording executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from assistant.devices.entities import Entity
from assistant.devices.registry import Registry
from assistant.understanding.calls import IntentCall
from assistant.understanding.dryrun import RecordingExecutor
from assistant.understanding.engine import Understanding
from assistant.understanding.handlers import HANDLERS
from assistant.understanding.loader import discover
from assistant.understanding.origin import CLI, VOICE, Origin
from assistant.understanding.replies import load_replies
from assistant.understanding.sentences import load_templates
from tests.test_understanding import ScriptedModel, did, home, make

EN = load_replies("en")
KO = load_replies("ko")
MQTT = Origin("mqtt:hall", sensitive=False)


def _put(queue: asyncio.Queue[str]) -> Callable[[str], Awaitable[None]]:
    async def announce(text: str) -> None:
        await queue.put(text)

    return announce


async def test_a_yes_from_another_origin_does_not_confirm_an_unlock() -> None:
    understanding, executor = make()
    asked = await understanding.process("unlock the front door", origin=VOICE)
    assert asked.awaiting_confirmation
    other = await understanding.process("yes", origin=CLI)
    assert not other.awaiting_confirmation
    assert other.intent is None  # "yes" on its own means nothing: a new sentence
    assert other.reply == EN.out_of_domain
    assert executor.actions == []
    # The question is still open on the origin that asked, and only it answers.
    done = await understanding.process("yes", origin=VOICE)
    assert did(executor) == {("lock.front_door", "unlock")}
    assert done.reply == "Unlocking"


async def test_a_yes_after_the_window_does_nothing() -> None:
    understanding, executor = make(confirm_seconds=0.1)
    await understanding.process("unlock the front door", origin=VOICE)
    await asyncio.sleep(0.3)
    late = await understanding.process("yes", origin=VOICE)
    assert executor.actions == []
    assert not late.awaiting_confirmation


async def test_sensitive_actions_are_refused_from_an_origin_that_may_not_ask() -> None:
    understanding, executor = make()
    for sentence in ("unlock the front door", "open the garage door"):
        refused = await understanding.process(sentence, origin=MQTT)
        assert refused.reply == EN.say("not_from_here")
        assert not refused.awaiting_confirmation
        assert refused.actions == ()
        # Nothing is waiting for a "yes" either.
        assert (await understanding.process("yes", origin=MQTT)).actions == ()
    assert executor.actions == []
    # What is not sensitive still works from there; so does making things safer.
    await understanding.process("turn on the bedroom lamp", origin=MQTT)
    await understanding.process("lock the front door", origin=MQTT)
    assert did(executor) == {("light.bedroom_lamp", "turn_on"), ("lock.front_door", "lock")}


async def test_an_llm_guess_confirmed_from_an_untrusted_origin_does_not_unlock() -> None:
    model = ScriptedModel({"let me in": [IntentCall("HassTurnOff", {"name": "Front Door"})]})
    understanding, executor = make(llm_mode="fallback", fallback=model, confirm_llm=True)
    asked = await understanding.process("let me in", origin=MQTT)
    assert asked.awaiting_confirmation  # the guess itself may be asked about ...
    answered = await understanding.process("yes", origin=MQTT)
    assert answered.reply == EN.say("not_from_here")  # ... but its "yes" unlocks nothing
    assert executor.actions == []


async def test_the_policy_follows_the_device_not_its_name() -> None:
    registry = home()
    registry.extend(
        [
            Entity("lock.porch", "Porch Light", "lock", "config", area="Porch"),
            Entity("cover.side", "Kitchen Blind", "cover", "config", device_class="gate"),
        ]
    )
    understanding, executor = make(registry, entity_sensitive={"lock.porch": False})
    for sentence in ("unlock the porch light", "open the kitchen blind"):
        asked = await understanding.process(sentence, origin=VOICE)
        assert asked.reply == EN.say("confirm"), sentence
        await understanding.process("no", origin=VOICE)
    assert executor.actions == []
    # A light called "Front Door Light" is a light: no question.
    registry.upsert(Entity("light.fdl", "Front Door Light", "light", "config"))
    assert not (await understanding.process("turn on the front door light")).awaiting_confirmation


async def test_a_timer_runs_its_command_with_no_more_authority_than_who_set_it() -> None:
    said: asyncio.Queue[str] = asyncio.Queue()
    understanding, executor = make(announce=_put(said))
    await understanding.process("unlock the front door in 1 second", origin=MQTT)
    await understanding.process("turn off the bedroom lamp in 1 second", origin=MQTT)
    async with asyncio.timeout(10):
        announced = {await said.get(), await said.get()}
    assert EN.say("not_from_here") in announced
    assert did(executor) == {("light.bedroom_lamp", "turn_off")}
    # The timer's own conversation is gone: nothing is left waiting for a "yes".
    assert not any(key.startswith("timer:") for key in understanding.conversations)
    understanding.close()


async def test_a_korean_home_is_asked_and_answered_in_korean() -> None:
    registry = Registry()
    registry.extend([Entity("lock.front", "현관문", "lock", "config", area="현관")])
    templates = load_templates("ko", discover().yaml_files, keep_intents=HANDLERS.names())
    executor = RecordingExecutor(registry)
    understanding = Understanding(registry, executor, templates)
    asked = await understanding.process("현관문 잠금 해제", origin=VOICE)
    assert asked.reply == KO.say("confirm") == "정말 하시겠어요?"
    assert (await understanding.process("아니요", origin=VOICE)).reply == KO.say("cancelled")
    assert executor.actions == []
    await understanding.process("현관문 잠금 해제", origin=VOICE)
    await understanding.process("네", origin=VOICE)
    assert [(a.entity_id, a.action) for a in executor.actions] == [("lock.front", "unlock")]
    # English words are not Korean answers: "yes" is heard as a new sentence.
    await understanding.process("현관문 잠금 해제", origin=VOICE)
    other = await understanding.process("yes", origin=VOICE)
    assert other.actions == ()
    assert not other.awaiting_confirmation
    assert len(executor.actions) == 1
    assert (await understanding.process("네", origin=VOICE)).reply == KO.out_of_domain


def test_replies_fall_back_to_english_and_every_language_has_the_keys() -> None:
    french = load_replies("fr")
    assert french.say("confirm") == EN.say("confirm")
    assert french.out_of_domain != EN.out_of_domain  # Home Assistant's own French text
    assert KO.is_yes("네!")
    assert KO.is_no("아니요")
    assert not KO.is_yes("yes")
    assert EN.is_yes("Yes, please")
    assert EN.is_no("never mind")
    assert not EN.is_yes("yes unlock")
    assert KO.compound_connectors == ()  # Korean sentences are never split at words
    assert {"네", "아니요"} <= set(KO.answers())


async def test_phrases_include_the_answers() -> None:
    understanding, _ = make()
    assert {"yes", "no", "never mind"} <= set(understanding.phrases())


async def test_an_origin_s_area_is_the_context_of_its_own_sentences() -> None:
    understanding, executor = make()
    kitchen = Origin("satellite:kitchen", area="Kitchen")
    bedroom = Origin("satellite:bedroom", area="Bedroom")
    await understanding.process("turn on the lights", origin=kitchen)
    assert did(executor) == {
        ("light.kitchen_ceiling", "turn_on"),
        ("light.kitchen_counter", "turn_on"),
    }
    executor.actions.clear()
    await understanding.process("turn on the lights", origin=bedroom)
    assert did(executor) == {("light.bedroom_lamp", "turn_on")}
    executor.actions.clear()
    # The follow-up goes to the kitchen's last target, not the bedroom's.
    await understanding.process("turn them off", origin=kitchen)
    assert did(executor) == {
        ("light.kitchen_ceiling", "turn_off"),
        ("light.kitchen_counter", "turn_off"),
    }


async def test_a_timer_set_from_a_satellite_acts_in_its_room_and_is_announced_there() -> None:
    here: asyncio.Queue[str] = asyncio.Queue()
    there: asyncio.Queue[str] = asyncio.Queue()
    understanding, executor = make(announce=_put(here))
    bedroom = Origin("satellite:bedroom", area="Bedroom")
    understanding.conversation(bedroom).announce = _put(there)
    await understanding.process("turn on the lights in 1 second", origin=bedroom)
    async with asyncio.timeout(10):
        await there.get()
    assert did(executor) == {("light.bedroom_lamp", "turn_on")}
    assert here.empty()
    understanding.close()
