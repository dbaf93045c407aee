"""The Home Assistant REST backend against a local server speaking HA's REST API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.config import EntityOverride, HomeAssistantConfig
from assistant.devices.entities import EntityState
from assistant.devices.homeassistant.backend import HomeAssistantBackend
from assistant.devices.registry import Registry
from assistant.errors import UserError
from tests.conftest import free_port
from tests.fake_homeassistant import FakeHomeAssistant, running, state_object

TOKEN = "secret-token"


def world(port: int = 0) -> FakeHomeAssistant:
    """A small home as Home Assistant would report it."""
    s = state_object
    states = [
        s("light.kitchen_ceiling", "off", {
            "friendly_name": "Kitchen Ceiling", "supported_color_modes": ["color_temp", "rgb"],
            "supported_features": 40,
        }),
        s("light.hallway", "on", {
            "friendly_name": "Hallway Light", "supported_color_modes": ["onoff"],
        }),
        s("switch.coffee_machine", "off", {"friendly_name": "Coffee Machine"}),
        s("cover.garage_door", "closed", {
            "friendly_name": "Garage Door", "device_class": "garage", "supported_features": 3,
        }),
        s("cover.living_room_blinds", "open", {
            "friendly_name": "Living Room Blinds", "device_class": "blind",
            "supported_features": 15, "current_position": 100,
        }),
        s("lock.front_door", "locked", {"friendly_name": "Front Door"}),
        s("climate.thermostat", "heat", {
            "friendly_name": "Thermostat", "hvac_modes": ["off", "heat", "cool"],
            "temperature": 20.0, "current_temperature": 19.5,
        }),
        s("fan.ceiling_fan", "off", {
            "friendly_name": "Ceiling Fan", "supported_features": 1, "percentage": 0,
        }),
        s("vacuum.robot", "docked", {"friendly_name": "Robot Vacuum"}),
        s("valve.garden", "closed", {"friendly_name": "Garden Valve", "supported_features": 7}),
        s("button.doorbell", "unknown", {"friendly_name": "Doorbell"}),
        s("scene.movie_time", "unknown", {"friendly_name": "Movie Time"}),
        s("sensor.kitchen_temperature", "21.5", {
            "friendly_name": "Kitchen Temperature", "device_class": "temperature",
            "unit_of_measurement": "°C",
        }),
        s("binary_sensor.front_door_contact", "off", {
            "friendly_name": "Front Door Contact", "device_class": "door",
        }),
        s("weather.home", "sunny", {"friendly_name": "Home"}),
        s("switch.broken", "unavailable", {"friendly_name": "Broken Plug"}),
    ]  # fmt: skip
    areas: dict[str, dict[str, Any]] = {
        "kitchen": {
            "name": "Kitchen",
            "floor": "ground",
            "entities": ["light.kitchen_ceiling", "switch.coffee_machine",
                         "sensor.kitchen_temperature"],
        },
        "living_room": {
            "name": "Living Room",
            "floor": "ground",
            "entities": ["cover.living_room_blinds", "climate.thermostat", "fan.ceiling_fan",
                         "vacuum.robot", "scene.movie_time"],
        },
        "hallway": {
            "name": "Hallway",
            "floor": "ground",
            "entities": ["light.hallway", "lock.front_door", "button.doorbell",
                         "binary_sensor.front_door_contact"],
        },
        "garage": {"name": "Garage", "floor": None, "entities": ["cover.garage_door"]},
        "garden": {"name": "Garden", "floor": None, "entities": ["valve.garden"]},
    }  # fmt: skip
    return FakeHomeAssistant(
        states, areas, token=TOKEN, floors={"ground": "Ground Floor"}, port=port
    )


@pytest.fixture
def fake() -> Iterator[FakeHomeAssistant]:
    with running(world()) as server:
        yield server


def settings(url: str, token: str = TOKEN) -> HomeAssistantConfig:
    return HomeAssistantConfig(enabled=True, url=url, token=token)


async def connected(
    fake: FakeHomeAssistant, registry: Registry, **kwargs: Any
) -> HomeAssistantBackend:
    backend = HomeAssistantBackend(settings(fake.url), registry, **kwargs)
    async with asyncio.timeout(10):
        await backend.connect()
        await backend.refresh()
    return backend


async def test_entities_areas_floors_and_states_are_read(fake: FakeHomeAssistant) -> None:
    registry = Registry()
    overrides = {"light.kitchen_ceiling": EntityOverride(aliases=("big light",))}
    backend = await connected(fake, registry, overrides=overrides)
    try:
        ids = {e.entity_id for e in registry.entities()}
        assert "weather.home" not in ids  # not a domain the assistant acts on
        assert len(ids) == 15
        assert registry.areas() == ["Garage", "Garden", "Hallway", "Kitchen", "Living Room"]
        assert registry.floors() == ["Ground Floor"]
        ceiling = registry.get("light.kitchen_ceiling")
        assert ceiling is not None
        assert ceiling.name == "Kitchen Ceiling"
        assert ceiling.source == "home assistant"
        assert ceiling.area == "Kitchen"
        assert ceiling.floor == "Ground Floor"
        assert ceiling.aliases == ("big light",)
        assert ceiling.features == {"brightness", "color", "color_temp"}
        garage = registry.get("cover.garage_door")
        assert garage is not None
        assert garage.sensitive
        assert garage.floor is None
        assert "position" not in garage.features
        blinds = registry.get("cover.living_room_blinds")
        assert blinds is not None
        assert "position" in blinds.features
        assert not blinds.sensitive
        assert registry.get("lock.front_door").sensitive  # type: ignore[union-attr]
        sensor = registry.get("sensor.kitchen_temperature")
        assert sensor is not None
        assert sensor.unit == "°C"
        assert registry.state("sensor.kitchen_temperature").state == "21.5"
        assert registry.state("climate.thermostat").attributes["current_temperature"] == 19.5
        assert not registry.state("switch.broken").available
        assert registry.state("light.hallway").available
        # What it asked for: the documented endpoints, the areas through a template.
        assert ("GET", "/api/states") in fake.requests
        assert ("POST", "/api/template") in fake.requests
    finally:
        await backend.close()


CALLS = [
    # entity, action, params, (domain, service, body), state after, attribute check
    ("light.kitchen_ceiling", "turn_on", {}, ("light", "turn_on", {}), "on", None),
    ("light.kitchen_ceiling", "set_brightness", {"brightness": 40},
     ("light", "turn_on", {"brightness_pct": 40}), "on", ("brightness", 102)),
    ("light.kitchen_ceiling", "set_color", {"rgb": (255, 0, 0)},
     ("light", "turn_on", {"rgb_color": [255, 0, 0]}), "on", ("rgb_color", [255, 0, 0])),
    ("light.kitchen_ceiling", "set_color", {"color": "red"},
     ("light", "turn_on", {"color_name": "red"}), "on", ("color_name", "red")),
    ("light.kitchen_ceiling", "set_color", {"color_temp_kelvin": 2700},
     ("light", "turn_on", {"color_temp_kelvin": 2700}), "on", ("color_temp_kelvin", 2700)),
    ("light.hallway", "turn_off", {}, ("light", "turn_off", {}), "off", None),
    ("switch.coffee_machine", "toggle", {}, ("homeassistant", "toggle", {}), "on", None),
    ("switch.coffee_machine", "turn_on", {}, ("switch", "turn_on", {}), "on", None),
    ("cover.garage_door", "open", {}, ("cover", "open_cover", {}), "open", None),
    ("cover.living_room_blinds", "close", {}, ("cover", "close_cover", {}), "closed", None),
    ("cover.living_room_blinds", "stop", {}, ("cover", "stop_cover", {}), "open", None),
    ("cover.living_room_blinds", "set_position", {"position": 30},
     ("cover", "set_cover_position", {"position": 30}), "open", ("current_position", 30)),
    ("lock.front_door", "unlock", {}, ("lock", "unlock", {}), "unlocked", None),
    ("lock.front_door", "lock", {}, ("lock", "lock", {}), "locked", None),
    ("climate.thermostat", "set_temperature", {"temperature": 22.5},
     ("climate", "set_temperature", {"temperature": 22.5}), "heat", ("temperature", 22.5)),
    ("climate.thermostat", "set_hvac_mode", {"hvac_mode": "cool"},
     ("climate", "set_hvac_mode", {"hvac_mode": "cool"}), "cool", None),
    ("fan.ceiling_fan", "set_fan_speed", {"percentage": 66},
     ("fan", "set_percentage", {"percentage": 66}), "on", ("percentage", 66)),
    ("vacuum.robot", "start", {}, ("vacuum", "start", {}), "cleaning", None),
    ("vacuum.robot", "return_to_base", {}, ("vacuum", "return_to_base", {}), "returning", None),
    ("valve.garden", "open", {}, ("valve", "open_valve", {}), "open", None),
    ("valve.garden", "close", {}, ("valve", "close_valve", {}), "closed", None),
    ("button.doorbell", "press", {}, ("button", "press", {}), None, None),
    ("scene.movie_time", "activate", {}, ("scene", "turn_on", {}), None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("entity_id", "action", "params", "call", "after", "attribute"),
    CALLS,
    ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CALLS)],
)
async def test_each_action_is_the_documented_service_call(  # noqa: PLR0917
    fake: FakeHomeAssistant,
    entity_id: str,
    action: str,
    params: dict[str, Any],
    call: tuple[str, str, dict[str, Any]],
    after: str | None,
    attribute: tuple[str, Any] | None,
) -> None:
    registry = Registry()
    backend = await connected(fake, registry)
    before = fake.state(entity_id)["state"]
    try:
        async with asyncio.timeout(10):
            sent = await backend.execute(entity_id, action, **params)
    finally:
        await backend.close()
    domain, service, data = call
    body = {"entity_id": entity_id, **data}
    assert fake.calls == [(domain, service, body)]
    assert sent.entity_id == entity_id
    assert sent.action == action
    assert sent.topic == f"/api/services/{domain}/{service}"
    assert sent.payload is not None
    assert json.loads(sent.payload) == body
    now = fake.state(entity_id)
    if after is None:  # buttons and scenes: the state becomes the time of use
        assert now["state"] != before
    else:
        assert now["state"] == after
    if attribute is not None:
        assert now["attributes"][attribute[0]] == attribute[1]
    # The registry heard the changed state from the service call's answer.
    assert registry.state(entity_id).state == now["state"]


@pytest.mark.parametrize(
    ("entity_id", "action", "params", "message"),
    [
        ("sensor.kitchen_temperature", "turn_on", {}, "Kitchen Temperature"),
        ("scene.movie_time", "turn_off", {}, "cannot turn off"),
        ("switch.coffee_machine", "set_position", {"position": 5}, "cannot set position"),
        ("climate.thermostat", "set_temperature", {}, "needs temperature"),
        ("light.nowhere", "turn_on", {}, "no entity light.nowhere"),
    ],
)
async def test_an_impossible_action_is_one_line_and_sends_nothing(
    fake: FakeHomeAssistant, entity_id: str, action: str, params: dict[str, Any], message: str
) -> None:
    registry = Registry()
    backend = await connected(fake, registry)
    try:
        with pytest.raises(UserError, match=message):
            await backend.execute(entity_id, action, **params)
    finally:
        await backend.close()
    assert fake.calls == []


async def test_a_bad_token_is_a_clear_message(fake: FakeHomeAssistant) -> None:
    backend = HomeAssistantBackend(settings(fake.url, token="wrong"), Registry())
    with pytest.raises(UserError) as error:
        async with asyncio.timeout(10):
            await backend.connect()
    text = str(error.value)
    assert "401" in text
    assert "token" in text
    assert fake.url in text
    assert "\n" not in text


async def test_a_server_that_is_down_is_a_clear_message() -> None:
    url = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    backend = HomeAssistantBackend(settings(url), Registry())
    with pytest.raises(UserError) as error:
        async with asyncio.timeout(30):
            await backend.connect()
    assert str(error.value).startswith(f"cannot reach Home Assistant at {url}")
    assert "\n" not in str(error.value)


async def test_a_server_that_goes_away_is_a_clear_message_and_the_backend_recovers() -> None:
    fake = world()
    registry = Registry()
    with running(fake):
        backend = await connected(fake, registry)
    port = int(fake.url.split(":")[2].split("/")[0])
    try:
        with pytest.raises(UserError, match="cannot reach Home Assistant"):
            async with asyncio.timeout(30):
                await backend.execute("switch.coffee_machine", "turn_on")
        with running(world(port)) as again:  # the server is back: so is the backend
            async with asyncio.timeout(10):
                await backend.execute("switch.coffee_machine", "turn_on")
            assert again.state("switch.coffee_machine")["state"] == "on"
    finally:
        await backend.close()


async def test_an_unknown_entity_state_is_a_404_line(fake: FakeHomeAssistant) -> None:
    backend = await connected(fake, Registry())
    try:
        with pytest.raises(UserError, match=r"read light\.gone: not found \(404\)"):
            await backend.read_state("light.gone")
        state = await backend.read_state("lock.front_door")
        assert state.state == "locked"
    finally:
        await backend.close()


async def test_a_missing_token_is_a_clear_message() -> None:
    with pytest.raises(UserError, match="token is missing"):
        HomeAssistantBackend(HomeAssistantConfig(enabled=True), Registry())


async def test_entities_gone_from_home_assistant_leave_the_registry(
    fake: FakeHomeAssistant,
) -> None:
    registry = Registry()
    backend = await connected(fake, registry)
    try:
        del fake.states["switch.coffee_machine"]
        await backend.refresh()
    finally:
        await backend.close()
    assert "switch.coffee_machine" not in registry
    assert "light.kitchen_ceiling" in registry


async def test_watch_follows_changes_made_in_home_assistant(
    fake: FakeHomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry()
    backend = await connected(fake, registry)
    seen = asyncio.Event()

    def heard(entity_id: str, state: EntityState) -> None:
        if entity_id == "lock.front_door" and state.state == "unlocked":
            seen.set()

    registry.add_state_listener(heard)
    task = asyncio.create_task(backend.watch(interval=0.05), name="watch")
    try:
        fake.states["lock.front_door"] = state_object("lock.front_door", "unlocked")
        async with asyncio.timeout(10):
            await seen.wait()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await backend.close()
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


async def test_a_url_that_is_not_http_is_a_clear_message() -> None:
    backend = HomeAssistantBackend(settings("homeassistant.local:8123/api"), Registry())
    with pytest.raises(UserError, match=r"\[homeassistant\] url 'homeassistant.local:8123/api'"):
        await backend.connect()
