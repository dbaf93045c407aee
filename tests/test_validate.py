"""The one validator: its rules, where the two old copies disagreed, and the grammar agreeing.

Pinned here: numbers given as strings are refused; durations stay within
1 s .. a day and the slot's own bounds; a many-target intent must name a
target; free text is short and printable; closed sets come from the devices
layer (its domains, device classes and colours) when a slot lists none.
"""

from __future__ import annotations

from typing import Any

import pytest

from assistant.devices.colors import resolve_color
from assistant.devices.entities import DOMAINS
from assistant.devices.vocabulary import (
    COLORS,
    DEVICE_CLASSES,
    SENSITIVE_ACTIONS,
    is_sensitive_action,
)
from assistant.understanding.calls import IntentCall, IntentSchema, SlotSpec, Vocabulary
from assistant.understanding.grammar import build_grammar, json_literal, parse_output
from assistant.understanding.validate import (
    MAX_DURATION_SECONDS,
    MAX_TEXT_CHARS,
    InvalidCall,
    validate_call,
)

TURN_OFF = IntentSchema(
    "HassTurnOff",
    "turn off",
    (
        SlotSpec("name", "name"),
        SlotSpec("area", "area"),
        SlotSpec("domain", "domain"),
        SlotSpec("device_class", "device_class"),
    ),
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
TIMER = IntentSchema(
    "HassStartTimer",
    "timer",
    (
        SlotSpec("seconds", "duration", required=True, maximum=3600),
        SlotSpec("label", "text"),
    ),
)
DAY_TIMER = IntentSchema("DayTimer", "timer", (SlotSpec("seconds", "duration", required=True),))
SCHEMAS = {s.name: s for s in (TURN_OFF, LIGHT_SET, TIMER, DAY_TIMER)}
HOME = Vocabulary(names=("Kitchen Light", "Desk Fan"), areas=("Living Room",), floors=())


def check(intent: str, **slots: Any) -> IntentCall:
    return validate_call(IntentCall(intent, slots), SCHEMAS, HOME)


@pytest.mark.parametrize(
    ("intent", "slots", "message"),
    [
        ("HassLightSet", {"name": "Kitchen Light", "brightness": "50"}, "needs a number"),
        ("HassLightSet", {"name": "Kitchen Light", "brightness": True}, "needs a number"),
        ("HassLightSet", {"name": "Kitchen Light", "brightness": float("nan")}, "needs a number"),
        ("HassLightSet", {"name": "Kitchen Light", "brightness": 101}, "outside 0..100"),
        ("HassStartTimer", {"seconds": 0}, "outside 1..3600"),
        ("HassStartTimer", {"seconds": 3601}, "outside 1..3600"),
        ("DayTimer", {"seconds": MAX_DURATION_SECONDS + 1}, f"outside 1..{MAX_DURATION_SECONDS}"),
        ("HassStartTimer", {"seconds": 60, "label": "x" * (MAX_TEXT_CHARS + 1)}, "longer than"),
        ("HassStartTimer", {"seconds": 60, "label": "pizza\x1b[2J"}, "control characters"),
        ("HassStartTimer", {"seconds": 60, "label": ""}, "non-empty string"),
        ("HassTurnOff", {}, "names no device, area or kind of device"),
        ("HassTurnOff", {"name": None}, "non-empty string"),
        ("HassTurnOff", {"name": "Pool Pump"}, "no such name 'Pool Pump'"),
        ("HassTurnOff", {"domain": "script"}, "unknown domain 'script'"),
        ("HassTurnOff", {"domain": "media_player"}, "unknown domain"),
        ("HassTurnOff", {"device_class": "spaceship"}, "unknown device_class"),
        ("HassLightSet", {"name": "Kitchen Light", "color": "octarine"}, "unknown color"),
        ("HassStartTimer", {}, "missing required slot(s) seconds"),
        ("HassTurnOff", {"speed": 3}, "has no slot 'speed'"),
        ("HassDance", {}, "unknown intent 'HassDance'"),
    ],
)
def test_refused_with_one_line(intent: str, slots: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidCall) as caught:
        check(intent, **slots)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_accepted_values_are_canonical() -> None:
    assert check("HassTurnOff", name="  kitchen   LIGHT ").slots == {"name": "Kitchen Light"}
    assert check("HassTurnOff", area="living room").slots == {"area": "Living Room"}
    assert check("HassTurnOff", domain="button").slots == {"domain": "button"}
    assert check("HassTurnOff", device_class="Gas").slots == {"device_class": "gas"}
    light = check("HassLightSet", name="Kitchen Light", brightness=40.0, color="Warm White")
    assert light.slots == {"name": "Kitchen Light", "brightness": 40, "color": "warm white"}
    assert isinstance(light.slots["brightness"], int)
    assert check("DayTimer", seconds=MAX_DURATION_SECONDS).slots == {"seconds": 86_400}


def test_the_llm_output_goes_through_the_same_rules() -> None:
    schemas = list(SCHEMAS.values())
    with pytest.raises(InvalidCall, match="names no device"):
        parse_output('{"intent":"HassTurnOff"}', schemas, HOME)
    with pytest.raises(InvalidCall, match="needs a number"):
        parse_output('{"intent":"HassStartTimer","seconds":"60"}', schemas, HOME)
    assert parse_output('{"intent":"HassTurnOff","name":"desk fan"}', schemas, HOME) == [
        IntentCall("HassTurnOff", {"name": "Desk Fan"})
    ]


def test_the_grammar_offers_exactly_what_the_devices_layer_models() -> None:
    grammar = build_grammar(list(SCHEMAS.values()), HOME)
    for value in (*DOMAINS, *DEVICE_CLASSES, *COLORS):
        assert json_literal(value) in grammar, value
    for absent in ("script", "media_player", "octarine"):
        assert json_literal(absent) not in grammar
    # Durations in the grammar end where the validator's do.
    assert '"3" "6" "0" "0"' in grammar
    assert '"3" "6" "0" "1"' not in grammar


def test_every_colour_name_is_one_a_light_can_show() -> None:
    for name in COLORS:
        assert resolve_color({"color": name}) is not None


def test_sensitive_actions_are_by_domain_and_class() -> None:
    assert set(SENSITIVE_ACTIONS) <= set(DOMAINS)
    assert is_sensitive_action("lock", None, "unlock")
    assert is_sensitive_action("lock", "whatever", "unlock")
    assert is_sensitive_action("cover", "garage", "open")
    assert is_sensitive_action("cover", "gate", "set_position")
    assert is_sensitive_action("valve", "gas", "open")
    assert not is_sensitive_action("cover", "blind", "open")
    assert not is_sensitive_action("lock", None, "lock")
    assert not is_sensitive_action("light", None, "turn_on")
