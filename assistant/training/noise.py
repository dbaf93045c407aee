"""What a speech recogniser does to a sentence: homophones, dropped words, near-miss names.

The label never changes: the model must learn that "reading lump" is the
Reading Lamp (the grammar only lets it name real devices anyway).
"""

from __future__ import annotations

import random

# Words a recogniser confuses with the word people said.
HOMOPHONES = {
    "light": ("lite", "like"), "lights": ("lites", "likes"), "two": ("to", "too"),
    "four": ("for",), "to": ("two",), "lamp": ("lump", "lamb"), "fan": ("van", "fun"),
    "ceiling": ("sealing",), "door": ("dour", "draw"), "blinds": ("binds",),
    "night": ("knight",), "lock": ("look", "log"), "kitchen": ("kitten",),
    "bedroom": ("bad room",), "hallway": ("hall way",), "heat": ("heed",),
    "off": ("of",), "on": ("an",), "fifty": ("fifteen",), "hall": ("haul",),
    "garage": ("garbage",), "living": ("leaving",), "desk": ("disk",), "plug": ("plus",),
    "shades": ("shapes",), "curtains": ("certains",), "gate": ("great",),
    "dining": ("dinning",), "porch": ("torch",), "patio": ("patty o",),
}  # fmt: skip
# Small words a recogniser drops or a speaker swallows.
DROPPABLE = frozenset({"the", "a", "please", "to", "my", "up", "in", "for", "me", "of"})


def homophone(text: str, rng: random.Random) -> str:
    """One word replaced by a word that sounds like it (when any has one)."""
    words = text.split()
    spots = [i for i, w in enumerate(words) if w in HOMOPHONES]
    if not spots:
        return text
    spot = rng.choice(spots)
    words[spot] = rng.choice(HOMOPHONES[words[spot]])
    return " ".join(words)


def drop_word(text: str, rng: random.Random) -> str:
    """One small word left out."""
    words = text.split()
    spots = [i for i, w in enumerate(words) if w in DROPPABLE]
    if not spots or len(words) < 3:
        return text
    del words[rng.choice(spots)]
    return " ".join(words)


def near_miss(text: str, rng: random.Random) -> str:
    """One letter of a longer word changed, doubled or lost ("kitchin", "lammp")."""
    words = text.split()
    spots = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not spots:
        return text
    spot = rng.choice(spots)
    word = words[spot]
    at = rng.randrange(1, len(word) - 1)
    how = rng.randrange(3)
    if how == 0:
        word = word[:at] + word[at + 1 :]
    elif how == 1:
        word = word[:at] + word[at] + word[at:]
    else:
        vowels = "aeiou"
        word = word[:at] + rng.choice(vowels.replace(word[at], "") or "a") + word[at + 1 :]
    words[spot] = word
    return " ".join(words)


def add_noise(text: str, rng: random.Random) -> tuple[str, str]:
    """(noisy sentence, the kind of noise) with one or two distortions."""
    kinds = rng.sample(("homophone", "drop", "near_miss"), rng.randint(1, 2))
    for kind in kinds:
        text = {"homophone": homophone, "drop": drop_word, "near_miss": near_miss}[kind](text, rng)
    return text, "+".join(sorted(kinds))
