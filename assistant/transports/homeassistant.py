"""Home Assistant REST backend: the registry from a Home Assistant server, actions as services.

An alternative to MQTT, chosen with ``[homeassistant] enabled = true``.  It
talks to HA's documented REST API through homeassistant-api's ``AsyncClient``:

- entities and states: ``GET /api/states``;
- areas and floors: HA's REST API has no area endpoint, so one template is
  rendered with ``POST /api/template`` using HA's ``areas()``, ``area_name()``,
  ``area_entities()``, ``floor_id()`` and ``floor_name()`` helpers;
- actions: ``POST /api/services/<domain>/<service>`` with ``entity_id`` and the
  service data; the states HA reports as changed go into the registry.

Every failure (bad token, server down, unknown entity) becomes one
``UserError`` line; the caller logs it and carries on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from homeassistant_api import AsyncClient
from homeassistant_api.errors import (
    BadTemplateError,
    EndpointNotFoundError,
    HomeassistantAPIError,
    RequestError,
    UnauthorizedError,
)
from niquests.exceptions import RequestException

from assistant.config import EntityOverride, HomeAssistantConfig
from assistant.devices.entities import DOMAINS, Action, Entity, EntityState
from assistant.devices.registry import Registry
from assistant.errors import UserError

log = logging.getLogger("assistant.homeassistant")

REQUEST_TIMEOUT = 10.0
# One line of JSON per area: id, name, floor and the entities in it.
AREAS_TEMPLATE = (
    "{% for a in areas() %}{% set f = floor_id(a) %}"
    '{{ {"id": a, "name": area_name(a), "floor": floor_name(f) if f else none,'
    ' "entities": area_entities(a)} | tojson }}\n{% endfor %}'
)
# Home Assistant before 2024.4 has no floors.
AREAS_TEMPLATE_NO_FLOORS = (
    "{% for a in areas() %}"
    '{{ {"id": a, "name": area_name(a), "floor": none, "entities": area_entities(a)} | tojson }}'
    "\n{% endfor %}"
)
SENSITIVE_COVERS = frozenset({"garage", "gate", "door"})
# HA feature bits (homeassistant.components.<domain>.<Domain>EntityFeature).
COVER_SET_POSITION = 4
VALVE_SET_POSITION = 4
FAN_SET_SPEED = 1


def service_call(
    entity: Entity, action: str, params: Mapping[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """(domain, service, body) for one executor verb on one entity; UserError if senseless."""
    domain = entity.domain
    body: dict[str, Any] = {"entity_id": entity.entity_id}

    def fail() -> UserError:
        return UserError(f"{entity.name} ({entity.entity_id}) cannot {action.replace('_', ' ')}")

    if action in ("turn_on", "set_brightness", "set_color") and domain == "light":
        if "brightness" in params:
            body["brightness_pct"] = int(params["brightness"])
        if "rgb" in params:
            body["rgb_color"] = [int(v) for v in params["rgb"]]
        if "color" in params:
            body["color_name"] = str(params["color"])
        if "color_temp_kelvin" in params:
            body["color_temp_kelvin"] = int(params["color_temp_kelvin"])
        if action == "set_brightness" and "brightness_pct" not in body:
            raise UserError("set_brightness needs a brightness")
        return "light", "turn_on", body
    if action in ("turn_on", "turn_off"):
        on = action == "turn_on"
        special = {
            "cover": "open_cover" if on else "close_cover",
            "valve": "open_valve" if on else "close_valve",
            "lock": "lock" if on else "unlock",
            "vacuum": "start" if on else "return_to_base",
            "button": "press" if on else None,
            "scene": "turn_on" if on else None,
            "sensor": None,
            "binary_sensor": None,
        }
        service = special.get(domain, action)
        if service is None:
            raise fail()
        if domain == "fan" and on and "percentage" in params:
            body["percentage"] = int(params["percentage"])
        return domain, service, body
    if action == "toggle":
        if domain in ("sensor", "binary_sensor", "button", "scene", "vacuum"):
            raise fail()
        return "homeassistant", "toggle", body
    table: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
        ("cover", "open"): ("open_cover", {}),
        ("cover", "close"): ("close_cover", {}),
        ("cover", "stop"): ("stop_cover", {}),
        ("valve", "open"): ("open_valve", {}),
        ("valve", "close"): ("close_valve", {}),
        ("valve", "stop"): ("stop_valve", {}),
        ("lock", "open"): ("open", {}),
        ("lock", "lock"): ("lock", {}),
        ("lock", "unlock"): ("unlock", {}),
        ("vacuum", "start"): ("start", {}),
        ("vacuum", "stop"): ("stop", {}),
        ("vacuum", "return_to_base"): ("return_to_base", {}),
        ("button", "press"): ("press", {}),
        ("scene", "activate"): ("turn_on", {}),
    }
    try:
        if action == "set_position" and domain in ("cover", "valve"):
            service = "set_cover_position" if domain == "cover" else "set_valve_position"
            return domain, service, {**body, "position": int(params["position"])}
        if action == "set_temperature" and domain == "climate":
            body["temperature"] = float(params["temperature"])
            if params.get("hvac_mode"):
                body["hvac_mode"] = str(params["hvac_mode"])
            return "climate", "set_temperature", body
        if action == "set_hvac_mode" and domain == "climate":
            return "climate", "set_hvac_mode", {**body, "hvac_mode": str(params["hvac_mode"])}
        if action == "set_fan_speed" and domain == "fan":
            return "fan", "set_percentage", {**body, "percentage": int(params["percentage"])}
    except KeyError as missing:
        raise UserError(f"{action} needs {missing.args[0]}") from None
    except (TypeError, ValueError):
        raise UserError(f"{action}: bad value in {dict(params)!r}") from None
    if (domain, action) in table:
        service, extra = table[(domain, action)]
        return domain, service, {**body, **extra}
    raise fail()


def entity_from_state(
    state: Mapping[str, Any], areas: Mapping[str, tuple[str, str | None]]
) -> Entity | None:
    """A registry Entity from one HA state object (None for domains we do not handle)."""
    entity_id = str(state["entity_id"])
    domain = entity_id.split(".", 1)[0]
    if domain not in DOMAINS:
        return None
    attrs: Mapping[str, Any] = state.get("attributes") or {}
    area, floor = areas.get(entity_id, (None, None))
    device_class = attrs.get("device_class")
    return Entity(
        entity_id=entity_id,
        name=str(attrs.get("friendly_name") or entity_id.split(".", 1)[1].replace("_", " ")),
        domain=domain,
        source="home assistant",
        area=area,
        floor=floor,
        device_class=str(device_class) if device_class else None,
        features=_features(domain, attrs),
        sensitive=domain == "lock" or (domain == "cover" and device_class in SENSITIVE_COVERS),
        unit=attrs.get("unit_of_measurement"),
    )


def _features(domain: str, attrs: Mapping[str, Any]) -> frozenset[str]:
    bits = int(attrs.get("supported_features") or 0)
    features: set[str] = set()
    if domain == "light":
        modes = set(attrs.get("supported_color_modes") or [])
        if modes - {"onoff"}:
            features.add("brightness")
        if modes & {"hs", "xy", "rgb", "rgbw", "rgbww"}:
            features.add("color")
        if "color_temp" in modes:
            features.add("color_temp")
    elif (domain == "cover" and bits & COVER_SET_POSITION) or (
        domain == "valve" and bits & VALVE_SET_POSITION
    ):
        features.add("position")
    elif domain == "fan" and bits & FAN_SET_SPEED:
        features.add("percentage")
    return frozenset(features)


class HomeAssistantBackend:
    """Fills a Registry from Home Assistant and executes actions as service calls."""

    def __init__(
        self,
        config: HomeAssistantConfig,
        registry: Registry,
        overrides: Mapping[str, EntityOverride] | None = None,
    ) -> None:
        if not config.token:
            raise UserError("[homeassistant] token is missing: create a long-lived access token")
        self.config = config
        self.registry = registry
        self.overrides = dict(overrides or {})
        self._client: AsyncClient | None = None

    async def __aenter__(self) -> HomeAssistantBackend:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the session and check the API answers (UserError if not)."""
        assert self.config.token is not None  # checked in __init__
        try:
            client = AsyncClient(
                self.config.url,
                self.config.token,
                verify_ssl=self.config.verify_ssl,
                global_request_kwargs={"timeout": REQUEST_TIMEOUT},
            )
        except ValueError:
            raise UserError(
                f"[homeassistant] url {self.config.url!r}: use http://host:8123/api or https://..."
            ) from None
        try:
            await self._call("connect", client.__aenter__())
        except UserError:
            await client.__aexit__(None, None, None)
            raise
        self._client = client

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            await self._client.__aexit__(None, None, None)
            self._client = None

    async def refresh(self) -> int:
        """Read areas and states into the registry; returns the number of entities."""
        client = self._need_client()
        areas = await self._areas(client)
        states = await self._call("read states", client.get_states())
        seen: set[str] = set()
        for state in states:
            raw = json.loads(state.model_dump_json())
            entity = entity_from_state(raw, areas)
            if entity is None:
                continue
            entity = self._override(entity)
            seen.add(entity.entity_id)
            new = _entity_state(raw)
            old = (
                self.registry.state(entity.entity_id) if entity.entity_id in self.registry else None
            )
            # upsert replaces the attributes wholesale; set_state tells the state listeners.
            self.registry.upsert(entity, new)
            if old is not None and old != new:
                self.registry.set_state(entity.entity_id, new.state, None, new.available)
        for entity in self.registry.entities():
            if entity.source == "home assistant" and entity.entity_id not in seen:
                self.registry.remove(entity.entity_id)
        for area_name, floor in {v for v in areas.values() if v[1]}:
            self.registry.set_floor(area_name, floor)  # type: ignore[arg-type]
        return len(seen)

    async def execute(self, entity_id: str, action: str, **params: Any) -> Action:
        """Call the service for `action` on `entity_id`; return what was sent."""
        entity = self.registry.get(entity_id)
        if entity is None:
            raise UserError(f"Home Assistant has no entity {entity_id}")
        domain, service, body = service_call(entity, action, params)
        client = self._need_client()
        changed = await self._call(
            f"{domain}.{service} on {entity_id}", client.trigger_service(domain, service, **body)
        )
        for state in changed:
            raw = json.loads(state.model_dump_json())
            if raw["entity_id"] in self.registry:
                new = _entity_state(raw)
                self.registry.set_state(raw["entity_id"], new.state, new.attributes, new.available)
        return Action(
            entity_id=entity_id,
            action=action,
            params=dict(params),
            topic=f"/api/services/{domain}/{service}",
            payload=json.dumps(body),
        )

    async def read_state(self, entity_id: str) -> EntityState:
        """Fetch one state now (UserError if HA does not know the entity)."""
        client = self._need_client()
        state = await self._call(f"read {entity_id}", client.get_state(entity_id=entity_id))
        raw = json.loads(state.model_dump_json())
        new = _entity_state(raw)
        if entity_id in self.registry:
            self.registry.set_state(entity_id, new.state, new.attributes, new.available)
        return new

    async def watch(self, interval: float = 10.0) -> None:
        """Refresh every `interval` seconds until cancelled (REST has no push).

        A failure is logged once when it starts and once when it ends; the
        registry keeps its last known entities meanwhile.
        """
        failing = False
        while True:
            await asyncio.sleep(interval)
            try:
                if self._client is None:
                    await self.connect()
                count = await self.refresh()
            except UserError as error:
                if not failing:
                    log.warning("%s; retrying every %.0f s", error, interval)
                failing = True
                continue
            if failing:
                log.warning("Home Assistant is back: %d entities", count)
            failing = False

    # --- internals ---------------------------------------------------------
    def _need_client(self) -> AsyncClient:
        if self._client is None:
            raise UserError("Home Assistant backend is not connected")
        return self._client

    def _override(self, entity: Entity) -> Entity:
        extra = self.overrides.get(entity.entity_id)
        if extra is None:
            return entity
        from dataclasses import replace

        return replace(
            entity,
            aliases=tuple(dict.fromkeys(entity.aliases + extra.aliases)),
            area=extra.area or entity.area,
            sensitive=entity.sensitive if extra.sensitive is None else extra.sensitive,
        )

    async def _areas(self, client: AsyncClient) -> dict[str, tuple[str, str | None]]:
        """entity id -> (area name, floor name)."""
        try:
            text = await self._call("read areas", client.get_rendered_template(AREAS_TEMPLATE))
        except UserError as error:
            if "template" not in str(error):
                raise
            text = await self._call(
                "read areas", client.get_rendered_template(AREAS_TEMPLATE_NO_FLOORS)
            )
        out: dict[str, tuple[str, str | None]] = {}
        for line in str(text).splitlines():
            if not line.strip():
                continue
            try:
                area = json.loads(line)
                for entity_id in area["entities"]:
                    out[str(entity_id)] = (str(area["name"]), area.get("floor"))
            except (json.JSONDecodeError, KeyError, TypeError):
                log.warning("Home Assistant: ignored an area line: %.80r", line)
        return out

    async def _call(self, what: str, awaitable: Any) -> Any:
        """Await one request; turn every failure into one UserError line."""
        url = self.config.url
        try:
            return await awaitable
        except UnauthorizedError:
            raise UserError(
                f"Home Assistant at {url} refused the token (401 Unauthorized): "
                "check [homeassistant] token"
            ) from None
        except EndpointNotFoundError:
            raise UserError(f"Home Assistant at {url}: {what}: not found (404)") from None
        except BadTemplateError:
            raise UserError(f"Home Assistant at {url}: {what}: template rejected") from None
        except RequestError as exc:
            raise UserError(f"Home Assistant at {url}: {what}: bad request ({exc})") from None
        except HomeassistantAPIError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"Home Assistant at {url}: {what}: {first}") from None
        except RequestException as exc:
            reason = type(exc).__name__
            raise UserError(f"cannot reach Home Assistant at {url} ({reason})") from None


def _entity_state(raw: Mapping[str, Any]) -> EntityState:
    state = str(raw.get("state"))
    attrs = dict(raw.get("attributes") or {})
    return EntityState(state=state, attributes=attrs, available=state != "unavailable")
