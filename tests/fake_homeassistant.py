"""A small Home Assistant REST server for tests, on 127.0.0.1.

It honours the documented endpoints (developers.home-assistant.io/docs/api/rest)
that the assistant's Home Assistant backend uses, with HA's status codes:

- ``GET  /api/``                      -> ``{"message": "API running."}``
- ``GET  /api/config``                -> location name, version, units, components
- ``GET  /api/states``                -> every state object
- ``GET  /api/states/<entity_id>``    -> one state object; 404 ``Entity not found.``
- ``POST /api/services/<domain>/<service>`` -> applies the service to the states as
  HA's integrations would and returns the list of states that changed; an unknown
  service is 400 ``Service not found.``
- ``POST /api/template``              -> renders ``{"template": ...}`` with Jinja2
  (sandboxed) and the helpers ``areas()``, ``area_name()``, ``area_id()``,
  ``area_entities()``, ``floor_id()``, ``floor_name()``, ``states()``; text/plain.
  A template error is 400.

Every request needs ``Authorization: Bearer <token>``; otherwise 401
``401: Unauthorized`` (text/plain), as HA answers.  Every service call is
recorded in ``calls`` as (domain, service, body).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

State = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def state_object(entity_id: str, state: str, attributes: dict[str, Any] | None = None) -> State:
    """A state object as GET /api/states returns it."""
    now = _now()
    return {
        "entity_id": entity_id,
        "state": state,
        "attributes": dict(attributes or {}),
        "last_changed": now,
        "last_updated": now,
        "last_reported": now,
        "context": {"id": "01FAKE", "parent_id": None, "user_id": None},
    }


class FakeHomeAssistant:
    """The server and its world: states, areas (with floors), and the calls it saw."""

    def __init__(
        self,
        states: list[State],
        areas: dict[str, dict[str, Any]],
        *,
        token: str = "secret-token",
        floors: dict[str, str] | None = None,
        port: int = 0,
    ) -> None:
        """`areas`: area id -> {"name", "floor" (floor id or None), "entities": [...]}."""
        self.token = token
        self.states: dict[str, State] = {s["entity_id"]: s for s in states}
        self.areas = areas
        self.floors = floors or {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The API URL to configure, e.g. http://127.0.0.1:PORT/api."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- the world ----------------------------------------------------------
    def state(self, entity_id: str) -> State:
        with self._lock:
            return self.states[entity_id]

    def render(self, template: str) -> str:
        env = ImmutableSandboxedEnvironment()
        env.globals.update(
            areas=lambda: list(self.areas),
            area_name=lambda a: self.areas[a]["name"] if a in self.areas else None,
            area_id=self._area_id,
            area_entities=lambda a: list(
                self.areas.get(self._area_id(a) or "", {}).get("entities", [])
            ),
            floor_id=lambda a: self.areas.get(self._area_id(a) or "", {}).get("floor"),
            floor_name=lambda f: self.floors.get(f) if f else None,
            states=lambda e: self.states[e]["state"] if e in self.states else "unknown",
        )
        return env.from_string(template).render()

    def _area_id(self, lookup: str) -> str | None:
        if lookup in self.areas:
            return lookup
        for area_id, area in self.areas.items():
            if area["name"] == lookup:
                return area_id
        return None

    def call(self, domain: str, service: str, body: dict[str, Any]) -> list[State] | None:
        """Apply a service; None if the service does not exist."""
        ids = body.get("entity_id", [])
        ids = [ids] if isinstance(ids, str) else list(ids)
        data = {k: v for k, v in body.items() if k != "entity_id"}
        changed = []
        with self._lock:
            self.calls.append((domain, service, dict(body)))
            for entity_id in ids:
                current = self.states.get(entity_id)
                if current is None:
                    continue  # HA ignores unknown entities in a service call
                target = entity_id.split(".")[0] if domain == "homeassistant" else domain
                handler = SERVICES.get((target, service))
                if handler is None:
                    return None
                state, attributes = handler(current["state"], dict(current["attributes"]), data)
                new = state_object(entity_id, state, attributes)
                self.states[entity_id] = new
                changed.append(new)
            if not ids and not any(key[1] == service for key in SERVICES):
                return None
        return changed

    # --- HTTP ---------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

            def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
                data = (json.dumps(body) if content_type == "application/json" else body).encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                fake.requests.append((self.command, self.path))
                if self.headers.get("Authorization") == f"Bearer {fake.token}":
                    return True
                self._send(401, "401: Unauthorized", "text/plain")
                return False

            def _body(self) -> dict[str, Any] | None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    return None
                return body if isinstance(body, dict) else None

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                path = self.path.split("?")[0]
                if path == "/api/":
                    self._send(200, {"message": "API running."})
                elif path == "/api/config":
                    self._send(
                        200,
                        {
                            "location_name": "Fake Home",
                            "version": "2025.11.0",
                            "unit_system": {"temperature": "°C", "length": "km"},
                            "components": sorted({e.split(".")[0] for e in fake.states}),
                        },
                    )
                elif path == "/api/states":
                    with fake._lock:
                        self._send(200, list(fake.states.values()))
                elif path.startswith("/api/states/"):
                    entity_id = path.removeprefix("/api/states/")
                    with fake._lock:
                        found = fake.states.get(entity_id)
                    if found is None:
                        self._send(404, {"message": "Entity not found."})
                    else:
                        self._send(200, found)
                else:
                    self._send(404, {"message": "Not found."})

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                path = self.path.split("?")[0]
                body = self._body()
                if body is None:
                    self._send(400, {"message": "Data should be valid JSON."})
                    return
                match = re.fullmatch(r"/api/services/([a-z_]+)/([a-z_]+)", path)
                if match:
                    changed = fake.call(match[1], match[2], body)
                    if changed is None:
                        self._send(400, {"message": "Service not found."})
                    else:
                        self._send(200, changed)
                elif path == "/api/template":
                    try:
                        text = fake.render(str(body.get("template", "")))
                    except (TemplateError, TypeError, KeyError) as exc:
                        self._send(400, {"message": f"Error rendering template: {exc}"})
                        return
                    self._send(200, text, "text/plain")
                else:
                    self._send(404, {"message": "Not found."})

        return Handler


@contextmanager
def running(server: FakeHomeAssistant) -> Iterator[FakeHomeAssistant]:
    """Start the server for the duration of a block."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- what each service does to a state (as HA's integrations do) ---------------------

Service = Callable[[str, dict[str, Any], dict[str, Any]], tuple[str, dict[str, Any]]]


def _on(state: str, attrs: dict[str, Any], data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "on", attrs


def _off(state: str, attrs: dict[str, Any], data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "off", attrs


def _toggle(state: str, attrs: dict[str, Any], data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("off" if state == "on" else "on"), attrs


def _light_on(
    state: str, attrs: dict[str, Any], data: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    if "brightness_pct" in data:
        attrs["brightness"] = round(float(data["brightness_pct"]) * 255 / 100)
    if "brightness" in data:
        attrs["brightness"] = int(data["brightness"])
    if "rgb_color" in data:
        attrs["rgb_color"] = list(data["rgb_color"])
        attrs["color_mode"] = "rgb"
    if "color_name" in data:
        attrs["color_name"] = data["color_name"]  # HA converts CSS3 names to rgb
        attrs["color_mode"] = "rgb"
    if "color_temp_kelvin" in data:
        attrs["color_temp_kelvin"] = int(data["color_temp_kelvin"])
        attrs["color_mode"] = "color_temp"
    if attrs.get("brightness") == 0:
        return "off", attrs
    attrs.setdefault("brightness", 255)
    return "on", attrs


def _fan_on(state: str, attrs: dict[str, Any], data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if "percentage" in data:
        attrs["percentage"] = int(data["percentage"])
        return ("on" if attrs["percentage"] > 0 else "off"), attrs
    return "on", attrs


def _position(key: str, closed: str) -> Service:
    def apply(
        state: str, attrs: dict[str, Any], data: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        attrs[key] = int(data["position"])
        return ("open" if attrs[key] > 0 else closed), attrs

    return apply


def _fixed(new: str, **values: Any) -> Service:
    def apply(
        state: str, attrs: dict[str, Any], data: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        attrs.update(values)
        return new, attrs

    return apply


def _keep(state: str, attrs: dict[str, Any], data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return state, attrs


def _climate_temperature(
    state: str, attrs: dict[str, Any], data: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    attrs["temperature"] = float(data["temperature"])
    return str(data.get("hvac_mode", state)), attrs


def _climate_mode(
    state: str, attrs: dict[str, Any], data: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    return str(data["hvac_mode"]), attrs


def _stamp(state: str, attrs: dict[str, Any], data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return _now(), attrs  # buttons and scenes: the state is the time of the last use


SERVICES: dict[tuple[str, str], Service] = {
    ("light", "turn_on"): _light_on,
    ("light", "turn_off"): _off,
    ("light", "toggle"): _toggle,
    ("switch", "turn_on"): _on,
    ("switch", "turn_off"): _off,
    ("switch", "toggle"): _toggle,
    ("fan", "turn_on"): _fan_on,
    ("fan", "turn_off"): _off,
    ("fan", "toggle"): _toggle,
    ("fan", "set_percentage"): _fan_on,
    ("cover", "open_cover"): _fixed("open", current_position=100),
    ("cover", "close_cover"): _fixed("closed", current_position=0),
    ("cover", "stop_cover"): _keep,
    ("cover", "set_cover_position"): _position("current_position", "closed"),
    ("cover", "toggle"): lambda s, a, d: _fixed("closed" if s == "open" else "open")(s, a, d),
    ("lock", "lock"): _fixed("locked"),
    ("lock", "unlock"): _fixed("unlocked"),
    ("lock", "open"): _fixed("open"),
    ("valve", "open_valve"): _fixed("open", current_position=100),
    ("valve", "close_valve"): _fixed("closed", current_position=0),
    ("valve", "stop_valve"): _keep,
    ("valve", "set_valve_position"): _position("current_position", "closed"),
    ("climate", "set_temperature"): _climate_temperature,
    ("climate", "set_hvac_mode"): _climate_mode,
    ("climate", "turn_on"): _fixed("heat"),
    ("climate", "turn_off"): _fixed("off"),
    ("vacuum", "start"): _fixed("cleaning"),
    ("vacuum", "stop"): _fixed("idle"),
    ("vacuum", "pause"): _fixed("paused"),
    ("vacuum", "return_to_base"): _fixed("returning"),
    ("button", "press"): _stamp,
    ("scene", "turn_on"): _stamp,
}
