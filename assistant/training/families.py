"""The paraphrase families: meanings, their targets and their everyday wordings.

Every family has at least four wordings so that each split gets its own
(``pattern_split``: the 2nd wording is test-only, the 4th dev-only).
"""

from __future__ import annotations

from .paraphrase import (
    Family,
    anywhere,
    area_kind,
    area_only,
    colored,
    fixed,
    fixed_value,
    floor_kind,
    kind_only,
    named,
    named_value,
    state_of,
    two,
)

_SWITCHABLE = ("light", "switch", "fan")
_OPENABLE = ("cover", "valve")
_LIGHT = ("light",)
_COVER = ("cover",)
_SET_TEMP = "HassClimateSetTemperature"
_BRIGHT = "brightness"

FAMILIES: tuple[Family, ...] = (
    Family("on.name", named("HassTurnOn", _SWITCHABLE), (
        "could you put {dev} on", "get {dev} going", "fire up {dev}", "i'd like {dev} on",
        "{dev} on please", "flick on {dev}", "switch {dev} on for me", "power up {dev}",
        "can we have {dev} on", "let's get {dev} on", "start {dev}", "pop {dev} on",
        "turn {dev} on for me", "i want {dev} running", "bring {dev} to life",
        "we could do with {dev} on",
    )),
    Family("off.name", named("HassTurnOff", _SWITCHABLE), (
        "kill {dev}", "i don't need {dev} any more", "shut {dev} down", "{dev} off please",
        "cut {dev}", "we're done with {dev}", "switch {dev} off", "power down {dev}",
        "could you stop {dev}", "no more {dev}", "get rid of {dev} for now", "{dev} can go off",
        "i'm finished with {dev}", "turn {dev} off now", "shut off {dev} please",
        "{dev} isn't needed any more",
    )),
    Family("dark.area", area_kind("HassTurnOn", "light"), (
        "it's too dark in the {area}", "i can't see a thing in the {area}",
        "the {area} is pitch black", "it's gloomy in the {area}",
        "we need some light in the {area}", "bring some light into the {area}",
        "the {area} is way too dark", "could use some light in the {area}",
        "i'm sitting in the dark in the {area}", "the {area} needs more light",
        "i want more light in the {area}", "light up the {area}", "brighten up the {area}",
    )),
    Family("bright.area", area_kind("HassTurnOff", "light"), (
        "it's too bright in the {area}", "no need for lights in the {area}",
        "lights out in the {area}", "the {area} lights are blinding me",
        "kill the lights in the {area}", "the {area} can go dark now",
        "nobody needs the {area} lit up", "darken the {area}",
    )),
    Family("on.area", area_kind("HassTurnOn", "fan"), (
        "get the {kind} going in the {area}", "it's stuffy in the {area}",
        "it's boiling in the {area}", "put the {area} {kind} on",
        "i need some air in the {area}", "the {area} could use a breeze",
    )),
    Family("off.area", area_kind("HassTurnOff", "fan"), (
        "the {area} {kind} can stop", "it's freezing in the {area}, stop the {kind}",
        "enough {kind} in the {area}", "switch off the {kind} in the {area}",
        "no more breeze in the {area}", "the {area} is cold enough",
    )),
    Family("floor.off", floor_kind("HassTurnOff", "light"), (
        "all the {kind} on the {floor} off", "make the {floor} dark",
        "nothing should be lit on the {floor}", "kill the {kind} on the {floor}",
        "the {floor} {kind} can go off", "shut off the {floor} {kind}",
    )),
    Family("kind.on", kind_only("HassTurnOn"), (
        "put the {kind} on", "get the {kind} going", "i want the {kind} on",
        "the {kind}, on please", "could you do the {kind}", "let's have the {kind} on",
    )),
    Family("kind.off", kind_only("HassTurnOff"), (
        "the {kind} off", "i'm done with the {kind}", "kill the {kind}",
        "could you do the {kind} off", "no more {kind}", "shut off the {kind}",
        "i don't need the {kind} any more", "the {kind} can go off now", "switch the {kind} off",
        "we can do without the {kind}", "turn off the {kind}", "that's enough {kind}",
    )),
    Family("kind.open", kind_only("HassTurnOn", covers=True), (
        "open up the {kind}", "get the {kind} open", "the {kind} up please",
        "raise the {kind}", "let's open the {kind}", "could you open the {kind}",
    )),
    Family("kind.close", kind_only("HassTurnOff", covers=True), (
        "shut the {kind}", "close up the {kind}", "bring the {kind} down",
        "get the {kind} closed", "the {kind} down please", "lower the {kind}",
    )),
    Family("bright.value", named_value("HassLightSet", _LIGHT, _BRIGHT, (5, 100), _BRIGHT), (
        "{dev} at {num} percent", "dim {dev} to {num}", "make {dev} {num} percent bright",
        "bring {dev} down to {num} percent", "{dev} to {num}%", "set {dev} at {num}",
        "i want {dev} at about {num} percent", "{dev} brightness {num}",
    )),
    Family("bright.area.value", area_kind("HassLightSet", "light", "brightness"), (
        "the {area} lights at {num} percent", "dim the {area} to {num}",
        "{area} brightness {num} percent", "make the {area} {num} percent bright",
        "bring the {area} lights to {num}", "i'd like the {area} at {num} percent",
    )),
    Family("bright.half", fixed_value("HassLightSet", ("light",), "brightness", 50, "brightness"), (
        "{dev} halfway", "{dev} at half brightness", "half power on {dev}",
        "dim {dev} by half", "put {dev} to half", "{dev} at fifty-fifty",
    )),
    Family("bright.max", fixed_value("HassLightSet", ("light",), "brightness", 100, "brightness"), (
        "turn {dev} all the way up", "{dev} as bright as it goes", "full brightness on {dev}",
        "crank {dev} up to max", "{dev} to the max", "{dev} fully bright",
    )),
    Family("color", colored, (
        "make {dev} {color}", "{dev} in {color} please", "turn {dev} {color}",
        "i want {color} light from {dev}", "change {dev} to {color}", "{dev} should be {color}",
        "paint {dev} {color}", "go {color} on {dev}",
    )),
    Family("fan.speed", named_value("HassFanSetSpeed", ("fan",), "percentage", (10, 100), None), (
        "{dev} at {num} percent", "run {dev} at {num}", "{dev} speed {num}",
        "slow {dev} down to {num} percent", "spin {dev} at {num} percent", "{dev} to {num}",
    )),
    Family("fan.max", fixed_value("HassFanSetSpeed", ("fan",), "percentage", 100, "percentage"), (
        "{dev} on full blast", "crank {dev} all the way up", "{dev} as fast as it goes",
        "max out {dev}", "{dev} at top speed", "{dev} flat out",
    )),
    Family("open", named("HassTurnOn", _OPENABLE), (
        "open up {dev}", "pull up {dev}", "roll up {dev}", "raise {dev}",
        "let some light in through {dev}", "get {dev} open", "crack open {dev}", "{dev} up",
    )),
    Family("close", named("HassTurnOff", _OPENABLE), (
        "shut {dev}", "pull down {dev}", "roll down {dev}", "lower {dev}",
        "get {dev} closed", "{dev} down please", "close off {dev}", "seal {dev}",
    )),
    Family("position", named_value("HassSetPosition", _COVER, "position", (10, 90), "position"), (
        "open {dev} {num} percent", "{dev} to {num} percent", "put {dev} at {num}",
        "raise {dev} to {num}", "{dev} {num}% open", "lower {dev} to {num} percent",
    )),
    Family("position.half", fixed_value("HassSetPosition", _COVER, "position", 50, "position"), (
        "{dev} halfway", "open {dev} halfway", "{dev} half open", "put {dev} half way",
        "{dev} halfway down", "close {dev} halfway",
    )),
    Family("lock", named("HassTurnOn", ("lock",)), (
        "lock up {dev}", "make sure {dev} is locked", "secure {dev}", "bolt {dev}",
        "{dev} should be locked", "lock {dev} for the night",
        "make {dev} secure", "put the lock on {dev}", "{dev} locked please",
    )),
    Family("unlock", named("HassTurnOff", ("lock",)), (
        "unlock {dev}", "let me in through {dev}", "unbolt {dev}", "{dev} open please",
        "i need {dev} unlocked", "release {dev}",
        "open {dev} for the guests", "undo {dev}", "take the lock off {dev}",
        "{dev} unlocked please", "could you unlock {dev}",
    )),
    Family("climate.set", named_value(_SET_TEMP, ("climate",), "temperature", (16, 28), None), (
        "warm {dev} up to {num} degrees", "{dev} to {num}", "i want {dev} at {num} degrees",
        "set the heat on {dev} to {num}", "put {dev} on {num}", "{dev} {num} degrees please",
    )),
    Family("climate.get", area_only("HassClimateGetTemperature", "climate"), (
        "how warm is it in the {area}", "is it cold in the {area}",
        "what's the temperature like in the {area}", "how hot is the {area}",
        "how many degrees in the {area}", "is the {area} warm enough",
    )),
    Family("vacuum.start", named("HassVacuumStart", ("vacuum",)), (
        "{dev}, time to clean", "get {dev} cleaning", "send {dev} out",
        "have {dev} do the floors", "{dev} go clean", "let {dev} loose",
    )),
    Family("vacuum.dock", named("HassVacuumReturnToBase", ("vacuum",)), (
        "send {dev} home", "{dev} go charge", "park {dev}", "{dev} back to the dock",
        "{dev}, that's enough", "dock {dev}",
    )),
    Family("state.on", state_of("light", "on"), (
        "is {dev} still on", "did i leave {dev} on", "{dev} on or what",
        "is {dev} on right now", "have we got {dev} on", "is {dev} burning",
        "is {dev} switched on", "tell me if {dev} is on", "{dev}, is it on",
    )),
    Family("state.locked", state_of("lock", "locked"), (
        "is {dev} locked", "did i lock {dev}", "{dev} locked or not",
        "is {dev} secure", "have we locked {dev}", "is {dev} bolted",
        "is {dev} locked right now", "tell me if {dev} is locked", "{dev}, is it locked",
        "check whether {dev} is locked",
    )),
    Family("sensor", named("HassGetState", ("sensor", "binary_sensor")), (
        "what does {dev} say", "what's {dev} reading", "check {dev}",
        "tell me {dev}", "any news from {dev}", "read {dev} for me",
    )),
    Family("press", named("HassTurnOn", ("button", "scene")), (
        "press {dev}", "hit {dev}", "let's do {dev}", "activate {dev}",
        "{dev} now", "go {dev}", "trigger {dev}",
    )),
    Family("timer", fixed("HassStartTimer", minutes=0), (
        "give me a {num} minute timer", "time {num} minutes for me", "{num} minutes on the clock",
        "count down {num} minutes", "remind me in {num} minutes", "timer {num} minutes",
    )),
    Family("time", fixed("HassGetCurrentTime"), (
        "got the time", "how late is it", "what time have we got", "tell me the time",
        "what's the time now", "is it late",
        "what hour is it", "time check", "how late are we",
    )),
    Family("date", fixed("HassGetCurrentDate"), (
        "what's today's date", "which day is it", "what date is it", "tell me the date",
        "what's the date today", "what day of the month is it",
    )),
    Family("nevermind", fixed("HassNevermind"), (
        "forget it", "oops, not you", "cancel that", "ignore me", "never mind that",
        "nothing, sorry",
    )),
    Family("climate.set.any", anywhere(_SET_TEMP, "climate", "temperature"), (
        "i want it {num} degrees in the house", "set the heating to {num}",
        "heat the place to {num} degrees", "{num} degrees in here please",
        "turn the heat up to {num}", "the house should be {num} degrees",
        "warm the house up to {num}", "bring the temperature down to {num}",
    )),
    Family("climate.get.any", anywhere("HassClimateGetTemperature", "climate"), (
        "how warm is it in here", "what's the temperature inside", "is it cold in the house",
        "how hot is it indoors", "what temperature is it in here", "how many degrees is it inside",
    )),
    Family("timer.hours", fixed("HassStartTimer", hours=0), (
        "set a {num} hour timer", "timer for {num} hours", "{num} hours on the clock",
        "count down {num} hours", "start a timer for {num} hours", "start a {num} hour timer",
    )),
    Family("timer.cancel", fixed("HassCancelTimer"), (
        "cancel the timer", "stop the timer", "kill the timer", "scrap the timer",
        "get rid of the timer", "no more timer", "the timer can go",
    )),
    Family("two.off", two("HassTurnOff", "HassTurnOff", _SWITCHABLE), (
        "turn off {dev} and {dev2}", "{dev} and {dev2} off", "kill {dev} and {dev2}",
        "shut down {dev} and also {dev2}", "switch off both {dev} and {dev2}",
        "{dev} off, {dev2} off too",
    )),
    Family("two.mixed", two("HassTurnOff", "HassTurnOn", _SWITCHABLE), (
        "{dev} off and {dev2} on", "turn off {dev} then turn on {dev2}",
        "swap {dev} for {dev2}", "kill {dev} and fire up {dev2}",
        "{dev} off, {dev2} on", "switch {dev} off and put {dev2} on",
    )),
)  # fmt: skip
