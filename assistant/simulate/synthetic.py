"""Large generated homes for benchmarks (500 entities and more)."""

from __future__ import annotations

from typing import Any

from assistant.simulate.home import Home, parse_home

# A plausible mix: mostly lights, switches and sensors, some of everything else.
_MIX: tuple[dict[str, Any], ...] = (
    {"kind": "light", "features": ["brightness", "color", "color_temp"]},
    {"kind": "light", "features": ["brightness"]},
    {"kind": "light"},
    {"kind": "switch"},
    {"kind": "sensor", "device_class": "temperature", "unit": "°C", "state": "21"},
    {"kind": "binary_sensor", "device_class": "door"},
    {"kind": "cover", "features": ["position"], "device_class": "blind"},
    {"kind": "fan", "features": ["percentage"]},
    {"kind": "lock"},
    {"kind": "climate"},
    {"kind": "valve"},
    {"kind": "button"},
)


def synthetic_home(count: int, areas: int = 20, topic_root: str = "bench") -> Home:
    """`count` entities spread over `areas` rooms, cycling through the kinds above."""
    area_names = [f"Room {i + 1}" for i in range(areas)]
    entities = []
    for index in range(count):
        template = _MIX[index % len(_MIX)]
        entities.append(
            {
                **template,
                "name": f"{template['kind'].replace('_', ' ').title()} {index + 1}",
                "area": area_names[index % areas],
            }
        )
    return parse_home(
        {
            "name": f"Synthetic home of {count}",
            "topic_root": topic_root,
            "areas": [{"name": a} for a in area_names],
            "entities": entities,
        },
        "synthetic home",
    )
