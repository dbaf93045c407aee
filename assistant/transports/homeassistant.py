"""Home Assistant's REST API on the wire: requests, the token, and errors as one line.

Talks to HA's documented REST API through homeassistant-api's ``AsyncClient``:

- states: ``GET /api/states`` and ``GET /api/states/<entity_id>``;
- templates: ``POST /api/template`` (the only way REST exposes areas);
- services: ``POST /api/services/<domain>/<service>``, answered with the
  states that changed.

States come back as plain JSON objects (``entity_id``, ``state``,
``attributes``).  Every failure (bad token, server down, unknown entity)
becomes one ``UserError`` line.  What the states mean for the assistant is
``assistant.devices.homeassistant``'s business.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from homeassistant_api import AsyncClient
from homeassistant_api.errors import (
    BadTemplateError,
    EndpointNotFoundError,
    HomeassistantAPIError,
    RequestError,
    UnauthorizedError,
)
from niquests.exceptions import RequestException

from assistant.config import HomeAssistantConfig
from assistant.errors import UserError

REQUEST_TIMEOUT = 10.0
# A state object as JSON: {"entity_id": ..., "state": ..., "attributes": {...}, ...}.
StateJson = dict[str, Any]
_T = TypeVar("_T")


class HomeAssistantClient:
    """One HTTP session to a Home Assistant server; `connect()` before use."""

    def __init__(self, config: HomeAssistantConfig) -> None:
        if not config.token:
            raise UserError("[homeassistant] token is missing: create a long-lived access token")
        self.config = config
        self.token: str = config.token
        self._client: AsyncClient | None = None

    @property
    def connected(self) -> bool:
        """Whether a session is open."""
        return self._client is not None

    async def connect(self) -> None:
        """Open the session and check the API answers (UserError if not)."""
        try:
            client = AsyncClient(
                self.config.url,
                self.token,
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

    async def states(self) -> list[StateJson]:
        """Every state object."""
        states = await self._call("read states", self._need().get_states())
        return [_as_json(state) for state in states]

    async def state(self, entity_id: str) -> StateJson:
        """One state object (UserError if HA does not know the entity)."""
        state = await self._call(f"read {entity_id}", self._need().get_state(entity_id=entity_id))
        return _as_json(state)

    async def render(self, what: str, template: str) -> str:
        """A template rendered by the server (UserError naming `what` if rejected)."""
        return str(await self._call(what, self._need().get_rendered_template(template)))

    async def call_service(
        self, domain: str, service: str, body: dict[str, Any]
    ) -> list[StateJson]:
        """Call one service; returns the states HA reports as changed."""
        what = f"{domain}.{service} on {body.get('entity_id')}"
        changed = await self._call(what, self._need().trigger_service(domain, service, **body))
        return [_as_json(state) for state in changed]

    def _need(self) -> AsyncClient:
        if self._client is None:
            raise UserError("Home Assistant backend is not connected")
        return self._client

    async def _call(self, what: str, awaitable: Awaitable[_T]) -> _T:
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


def _as_json(state: Any) -> StateJson:
    # homeassistant-api's State models: their JSON dump is the wire object.
    raw = json.loads(state.model_dump_json())
    return raw if isinstance(raw, dict) else {}
