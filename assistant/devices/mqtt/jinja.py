"""Home Assistant style value and command templates, rendered in Jinja2's sandbox.

Discovery payloads come from the network, so templates are untrusted: they
run in ``SandboxedEnvironment`` (as Home Assistant does) with HA's common
filters (``int``, ``float``, ``round``, ``is_defined``...).  Compiled
templates are cached by source text: 500 entities often share a handful.
"""

from __future__ import annotations

import contextlib
import json
import logging
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)


class TemplateFailed(ValueError):
    """A template did not compile or render; the message is one line."""


def _to_int(value: Any, default: Any = 0, base: int = 10) -> Any:
    try:
        if isinstance(value, str) and base != 10:
            return int(value, base)
        return int(float(value)) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        return default


def _to_float(value: Any, default: Any = 0.0) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _round(value: Any, precision: int = 0, method: str = "common", default: Any = None) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value if default is None else default
    if method == "floor":
        import math

        return math.floor(number * 10**precision) / 10**precision
    if method == "ceil":
        import math

        return math.ceil(number * 10**precision) / 10**precision
    result = round(number, precision)
    return int(result) if precision == 0 else result


def _is_defined(value: Any) -> Any:
    if isinstance(value, Undefined):
        raise TemplateFailed("is_defined: the value is not defined")
    return value


def _from_json(value: Any) -> Any:
    return json.loads(value)


def _to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _environment() -> SandboxedEnvironment:
    # Lenient like Home Assistant: a missing key renders "" (Zigbee2MQTT
    # state messages often carry only some properties), while attribute
    # access on something undefined (value_json of a non-JSON payload) fails.
    env = SandboxedEnvironment(undefined=Undefined, autoescape=False)
    env.filters.update(
        {
            "int": _to_int,
            "float": _to_float,
            "round": _round,
            "is_defined": _is_defined,
            "from_json": _from_json,
            "to_json": _to_json,
        }
    )
    env.globals.update({"int": _to_int, "float": _to_float, "round": _round})
    return env


_ENV = _environment()


@lru_cache(maxsize=1024)
def _compile(source: str) -> Any:
    try:
        return _ENV.from_string(source)
    except TemplateError as exc:
        raise TemplateFailed(f"template {source!r} does not compile: {exc}") from None


def check(source: str) -> None:
    """Raise TemplateFailed if the template does not compile."""
    _compile(source)


def render(source: str, variables: dict[str, Any]) -> str:
    """Render a template with the given variables; TemplateFailed on any error."""
    template = _compile(source)
    try:
        return str(template.render(**variables)).strip()
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateFailed(f"template {source!r}: {exc}") from None


def render_value(source: str | None, payload: str) -> str:
    """A value template (`value`, `value_json`) applied to a state payload; no template = as is."""
    if not source:
        return payload
    variables: dict[str, Any] = {"value": payload}
    # value_json is left undefined for non-JSON: a template using it fails, as in HA.
    with contextlib.suppress(ValueError):
        variables["value_json"] = json.loads(payload)
    return render(source, variables)


def render_command(source: str | None, value: Any, **extra: Any) -> str:
    """A command template (`value`, plus e.g. `position`) -> the payload to publish."""
    if not source:
        return str(value)
    return render(source, {"value": value, **extra})
