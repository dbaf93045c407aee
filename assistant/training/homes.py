"""Synthetic homes: varied names, aliases, areas and floors over every domain.

A home is drawn from a seeded ``random.Random`` only, so the same seed gives
the same home.  Names come from pools of what people call their devices
("Reading Lamp", "Robbie"), rooms prefixed to kinds ("Kitchen Ceiling
Light"), and aliases people give them ("big light").  The home becomes a
live ``Registry`` so the project's own slot lists and vocabulary are used.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from assistant.devices.entities import DOMAINS, Entity
from assistant.devices.registry import Registry
from assistant.understanding.calls import Vocabulary
from assistant.understanding.lists import vocabulary

AREAS = (
    "Kitchen", "Living Room", "Bedroom", "Master Bedroom", "Kids Room", "Nursery", "Office",
    "Study", "Bathroom", "Hallway", "Garage", "Garden", "Patio", "Basement", "Attic",
    "Dining Room", "Laundry Room", "Guest Room", "Porch", "Balcony", "Den", "Playroom",
    "Workshop", "Library", "Entryway", "Sunroom", "Lounge", "Utility Room", "Loft", "Pantry",
)  # fmt: skip
FLOORS = ("Ground Floor", "First Floor", "Upstairs", "Downstairs", "Second Floor", "Top Floor")

# (name pattern, device_class, aliases); "{area}" is the entity's area.
_LIGHTS = (
    ("{area} Light", None, ()), ("{area} Ceiling Light", None, ("big light",)),
    ("{area} Lamp", None, ()), ("Reading Lamp", None, ("book light",)), ("Desk Lamp", None, ()),
    ("Floor Lamp", None, ("tall lamp",)), ("Fairy Lights", None, ("twinkly lights",)),
    ("Bedside Lamp", None, ()), ("{area} Spotlights", None, ()), ("Pendant Light", None, ()),
    ("Chandelier", None, ()), ("{area} LED Strip", None, ("strip",)), ("Wall Sconce", None, ()),
    ("Porch Light", None, ()), ("Night Light", None, ()), ("Lava Lamp", None, ()),
)  # fmt: skip
_SWITCHES = (
    ("Coffee Machine", "outlet", ("coffee maker",)), ("Kettle", "outlet", ()),
    ("TV Plug", "outlet", ("telly",)), ("Christmas Tree", "outlet", ("tree",)),
    ("Fountain", None, ()), ("Dehumidifier", None, ()), ("Printer", "outlet", ()),
    ("Sprinkler", None, ()), ("Electric Blanket", "outlet", ()), ("Fish Tank Pump", None, ()),
    ("Towel Warmer", None, ()), ("Space Heater", "outlet", ()),
)  # fmt: skip
_FANS = (
    ("{area} Fan", None, ()), ("Ceiling Fan", None, ()), ("Desk Fan", None, ()),
    ("Extractor Fan", None, ("extractor",)), ("Tower Fan", None, ()), ("Air Purifier", None, ()),
)  # fmt: skip
_COVERS = (
    ("{area} Blinds", "blind", ()), ("{area} Curtains", "curtain", ("drapes",)),
    ("Roller Shade", "shade", ()), ("{area} Shutters", "shutter", ()),
    ("Garage Door", "garage", ("garage",)), ("Driveway Gate", "gate", ("gate",)),
    ("Sliding Door", "door", ()), ("Skylight", "window", ("roof window",)),
    ("Patio Awning", "awning", ("awning",)), ("Vent Damper", "damper", ()),
)  # fmt: skip
_LOCKS = (
    ("Front Door Lock", None, ("front door",)), ("Back Door Lock", None, ("back door",)),
    ("Side Gate Lock", None, ()), ("Shed Lock", None, ()), ("Patio Door Lock", None, ()),
)  # fmt: skip
_VALVES = (
    ("Irrigation Valve", "water", ()), ("Main Water Valve", "water", ("water main",)),
    ("Gas Valve", "gas", ()), ("Garden Tap", "water", ()),
)  # fmt: skip
_CLIMATE = (
    ("Thermostat", None, ()), ("Heat Pump", None, ()), ("{area} AC", None, ("air con",)),
    ("{area} Radiator", None, ()), ("Heating", None, ()),
)  # fmt: skip
_VACUUMS = (
    ("Robbie", None, ("robot vacuum",)), ("Dusty", None, ()), ("Rosie", None, ()),
    ("Roomba", None, ("the robot",)), ("Vacuum", None, ()), ("Hoover", None, ()),
)  # fmt: skip
_SENSORS = (
    ("{area} Temperature", "temperature", ()), ("{area} Humidity", "humidity", ()),
    ("Outdoor Temperature", "temperature", ()), ("Power Meter", "power", ()),
)  # fmt: skip
_BINARY = (
    ("{area} Motion", "motion", ()), ("Window Contact", "window", ()),
    ("Door Sensor", "door", ()), ("Leak Detector", "moisture", ()),
)  # fmt: skip
_BUTTONS = (
    ("Doorbell", None, ()), ("Restart Router", None, ()), ("Garage Buzzer", None, ()),
    ("Identify Light", None, ()),
)  # fmt: skip
_SCENES = (
    ("Movie Night", None, ()), ("Good Night", None, ("bedtime",)), ("Dinner Time", None, ()),
    ("Relax", None, ()), ("Party Mode", None, ()), ("Morning", None, ()),
)  # fmt: skip

POOLS: dict[str, tuple[tuple[str, str | None, tuple[str, ...]], ...]] = {
    "light": _LIGHTS, "switch": _SWITCHES, "fan": _FANS, "cover": _COVERS, "lock": _LOCKS,
    "valve": _VALVES, "climate": _CLIMATE, "vacuum": _VACUUMS, "sensor": _SENSORS,
    "binary_sensor": _BINARY, "button": _BUTTONS, "scene": _SCENES,
}  # fmt: skip
# How many devices of each domain a home has, (min, max).
_COUNTS = {"light": (3, 7), "switch": (1, 3), "fan": (1, 2), "cover": (1, 4), "lock": (1, 2)}
_COLOR_SHARE = 0.5  # lights that can show colours


@dataclass(frozen=True)
class Home:
    """One synthetic home: its index, areas with floors, and entities."""

    index: int
    areas: tuple[str, ...]
    floors: dict[str, str]  # area -> floor (areas may have none)
    entities: tuple[Entity, ...]

    def registry(self) -> Registry:
        """The home as a live registry (what understanding reads)."""
        registry = Registry()
        for area, floor in sorted(self.floors.items()):
            registry.set_floor(area, floor)
        registry.extend(self.entities)
        return registry

    def vocabulary(self) -> Vocabulary:
        """Names, aliases, areas and floors: what the grammar may name."""
        return vocabulary(self.registry())

    def of_domain(self, domain: str) -> list[Entity]:
        """The entities of one domain, in a stable order."""
        return [e for e in self.entities if e.domain == domain]

    def in_area(self, area: str, domain: str | None = None) -> list[Entity]:
        """The entities in an area (of one domain when given)."""
        return [e for e in self.entities if e.area == area and domain in (None, e.domain)]


def slug(text: str) -> str:
    """An entity id's object part from a name."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "device"


def _features(domain: str, device_class: str | None, rng: random.Random) -> frozenset[str]:
    if domain == "light":
        return frozenset({"brightness", "color"} if rng.random() < _COLOR_SHARE else {"brightness"})
    if domain == "fan":
        return frozenset({"percentage"})
    if domain == "cover" and device_class not in ("garage", "gate", "door"):
        return frozenset({"position"})
    return frozenset()


def make_home(index: int, seed: int) -> Home:
    """Home number `index` of the data set drawn with `seed` (a pure function of both)."""
    rng = random.Random(f"home:{seed}:{index}")
    areas = tuple(rng.sample(AREAS, rng.randint(4, 8)))
    floors: dict[str, str] = {}
    if rng.random() < 0.7:
        storeys = rng.sample(FLOORS, rng.randint(1, 3))
        floors = {area: rng.choice(storeys) for area in areas if rng.random() < 0.85}
    entities: dict[str, Entity] = {}
    taken: set[str] = {a.casefold() for a in areas} | {f.casefold() for f in FLOORS}
    for domain in DOMAINS:
        low, high = _COUNTS.get(domain, (1, 2))
        for _ in range(rng.randint(low, high)):
            pattern, device_class, aliases = rng.choice(POOLS[domain])
            area = rng.choice(areas)
            name = pattern.format(area=area)
            if name.casefold() in taken:
                continue
            kept = tuple(a for a in aliases if a.casefold() not in taken and rng.random() < 0.6)
            taken.update(n.casefold() for n in (name, *kept))
            entity = Entity(
                entity_id=f"{domain}.{slug(name)}",
                name=name,
                domain=domain,
                source="config",
                area=None if rng.random() < 0.08 else area,
                aliases=kept,
                device_class=device_class,
                features=_features(domain, device_class, rng),
            )
            entities[entity.entity_id] = entity
    return Home(index, areas, floors, tuple(sorted(entities.values(), key=lambda e: e.entity_id)))
