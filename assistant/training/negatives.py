"""Sentences that must produce no call: chit-chat, other topics, talk about devices, missing ones.

The label of each is ``{"intent":"none"}``.  Like the paraphrases, negatives
come in families of wordings split by ``pattern_split``.
"""

from __future__ import annotations

import random
import re

from .homes import Home
from .paraphrase import pattern_split, spoken, with_article

CHIT_CHAT = (
    "how are you", "tell me a joke", "thanks a lot", "good morning", "what's your name",
    "i love you", "you're funny", "are you listening", "how was your day", "good night",
    "that's great", "sing me a song", "who made you", "hello there",
)  # fmt: skip
OTHER_TOPICS = (
    "what's the capital of france", "play some jazz", "how far away is the moon",
    "order a pizza", "what's the weather tomorrow", "call my mum", "who won the game last night",
    "how do you spell necessary", "what's two plus two", "book a table for four",
    "read me the news", "how tall is mount everest", "translate hello into spanish",
    "when does the bakery open", "what's seven times eight", "how many days until christmas",
    "who wrote hamlet", "what's a good name for a cat", "how do i boil an egg",
    "recommend a movie", "what's the population of canada", "how many legs does a spider have",
    "convert ten miles to kilometres", "what's the speed of light", "is a tomato a fruit",
)  # fmt: skip
# Devices no synthetic home has: asking for them must not act on something else.
MISSING_DEVICES = (
    "sauna", "hot tub", "aquarium light", "pool pump", "espresso grinder", "record player",
    "snow melter", "chicken coop door", "wine fridge", "treadmill", "karaoke machine",
    "heated driveway", "bird feeder", "dog door", "pizza oven", "tesla charger",
    "dishwasher", "washing machine", "tumble dryer", "microwave", "fireplace", "jacuzzi",
    "baby monitor", "projector", "games console", "stereo", "heated floor", "air fryer",
    "ice maker", "bread maker", "water heater", "pond pump", "electric car", "sound bar",
)  # fmt: skip
# Devices other synthetic homes have ("Kettle"): specific things, not kinds
# ("heating", "vacuum"), which a home may well mean by another device of its own.
OTHER_HOMES = (
    "Kettle", "Printer", "Christmas Tree", "Fountain", "Electric Blanket", "Fish Tank Pump",
    "Towel Warmer", "Dehumidifier", "Coffee Machine", "Lava Lamp", "Skylight", "Patio Awning",
    "Driveway Gate", "Garden Tap", "Irrigation Valve", "Tower Fan", "Sprinkler", "Fairy Lights",
)  # fmt: skip
# Every seventh wording from the second is test, from the fourth dev (pattern_split):
# new ones go at the end, so the old ones keep their split.
MISSING_WORDINGS = (
    "turn on the {missing}", "switch off the {missing}", "start the {missing}",
    "open the {missing}", "is the {missing} on", "set the {missing} to 50 percent",
    "could you power up the {missing}",
    "turn off the {missing}", "shut off the {missing}", "switch on the {missing}",
    "close the {missing}", "kill the {missing}", "dim the {missing}", "stop the {missing}",
    "put the {missing} on", "turn the {missing} off", "lock the {missing}",
    "is the {missing} open", "fire up the {missing}", "turn the {missing} down",
    "can you switch the {missing} off", "get the {missing} going", "unlock the {missing}",
    "set the {missing} to half", "is the {missing} running", "cut the {missing}",
    "the {missing} on please", "i want the {missing} off",
)  # fmt: skip
STATEMENTS = (
    "i bought a new lamp yesterday", "the old fan was so noisy", "my sister has smart blinds",
    "lights are expensive these days", "i read about door locks online",
    "the neighbours painted their garage door", "my phone needs charging",
    "my brother fixed our garage door once", "i saw a cool lamp at the shop",
    "the heating bill was huge this winter", "fans are on sale this week",
    "i dropped my keys by the door", "the electrician comes on monday",
    "our old house had a fireplace", "blinds are hard to clean",
    "ceiling fans are hard to install", "i left my book by the window",
)  # fmt: skip
# Talk about one of the home's own devices that asks for nothing.
DEVICE_STATEMENTS = (
    "i bought {dev} last year", "{dev} was a present from my mum",
    "my sister wants one like {dev}", "{dev} came with the house",
    "i need to dust {dev} this weekend", "the cat loves sleeping next to {dev}",
    "{dev} cost way too much", "we had {dev} repaired in march", "i wonder who makes {dev}",
    "the kids drew a picture of {dev}", "{dev} matches the wallpaper",
    "remember when {dev} broke", "my friend said {dev} looks nice",
    "i read the manual for {dev} once", "{dev} is older than the kids",
    "i told grandma about {dev}", "we might sell {dev} someday",
    "{dev} was on sale when we got it",
)  # fmt: skip
GROUPS = {"chat": CHIT_CHAT, "topic": OTHER_TOPICS, "statement": STATEMENTS}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.casefold()))


def missing_names(home: Home) -> list[str]:
    """Devices the home lacks that share no word with its names, aliases and areas."""
    vocabulary = home.vocabulary()
    said: set[str] = set()
    for name in (*vocabulary.names, *vocabulary.areas, *vocabulary.floors):
        said |= _words(name)
    candidates = (*MISSING_DEVICES, *(n.lower() for n in OTHER_HOMES))
    return [m for m in candidates if not _words(m) & said]


def negative(home: Home, rng: random.Random, split: str) -> tuple[str, str] | None:
    """(pattern id, sentence) of one negative whose wording belongs to `split`."""
    kind = rng.choice(("chat", "topic", "statement", "device", "missing", "missing", "missing"))
    if kind == "device":
        index = rng.choice([i for i in range(len(DEVICE_STATEMENTS)) if pattern_split(i) == split])
        said, _ = spoken(rng.choice(home.entities), rng)
        dev = with_article(rng, said)
        return f"none.device:{index}", DEVICE_STATEMENTS[index].format(dev=dev)
    if kind == "missing":
        wordings = [w for i, w in enumerate(MISSING_WORDINGS) if pattern_split(i) == split]
        missing = missing_names(home)
        if not wordings or not missing:
            return None
        index = MISSING_WORDINGS.index(rng.choice(wordings))
        return f"none.missing:{index}", MISSING_WORDINGS[index].format(missing=rng.choice(missing))
    pool = GROUPS[kind]
    allowed = [i for i in range(len(pool)) if pattern_split(i) == split]
    index = rng.choice(allowed)
    return f"none.{kind}:{index}", pool[index]
