"""A simulated device fleet speaking Home Assistant MQTT discovery, for tests and demos."""

from assistant.simulate.fleet import Fleet, Received
from assistant.simulate.ha_fixtures import convert_ha_fixtures, home_from_ha_fixtures
from assistant.simulate.home import EntitySpec, Home, load_example_home, load_home, parse_home

__all__ = [
    "EntitySpec",
    "Fleet",
    "Home",
    "Received",
    "convert_ha_fixtures",
    "home_from_ha_fixtures",
    "load_example_home",
    "load_home",
    "parse_home",
]
