"""Home Assistant style value and command templates, rendered in a bounded sandbox.

Discovery payloads come from the network, so templates are untrusted: they
run in jinja2's ``ImmutableSandboxedEnvironment`` (no attribute writes, no
``list.append``) with HA's common filters (``int``, ``float``, ``round``,
``is_defined``...), and within limits, so that no config can exhaust memory
or hold the event loop (a 99-byte retained config once made the assistant
peak at 2 GB; a 2.5e8-iteration loop froze it for 15 s):

- size: every string, list or number a filter, method call or operator
  (``*``, ``**``, ``%``, ``+``) would build is checked before or right after
  it is built (``MAX_SIZE`` items, ``MAX_INT_BITS`` bits), format widths are
  capped, ``range`` is capped at ``MAX_RANGE``, and the output at
  ``MAX_OUTPUT``;
- time: a trace function on the template's own frames stops it after
  ``MAX_SECONDS`` (and checks its variables' sizes at every line, which
  catches ``{% set a = a ~ a %}`` repeated);
- a template that broke a limit once is refused at once from then on.

Limits are checked when a config is parsed too (``check`` compiles and
renders once), so most bombs are refused before they become an entity.
Compiled templates are cached by source text: 500 entities often share a
handful.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterator, Sized
from functools import lru_cache
from types import FrameType
from typing import Any

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_CHARS = 4096
MAX_SIZE = 64 * 1024  # characters of a string, items of a list
MAX_OUTPUT = 64 * 1024
MAX_RANGE = 10_000
MAX_INT_BITS = 256
MAX_PRODUCT = 16 * MAX_SIZE
MAX_SECONDS = 0.1
_WIDE_FORMAT = re.compile(r"\d{5,}")


class TemplateFailed(ValueError):
    """A template did not compile or render; the message is one line."""


class TemplateLimit(TemplateFailed):
    """A template went over a size or time limit."""


def _weight(value: Any) -> int:
    """Characters or items, counting the strings inside a container (`[s] * 9999`)."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple | set | frozenset):
        return len(value) + sum(len(v) for v in value if isinstance(v, str | bytes))
    if isinstance(value, dict):
        return len(value) + sum(len(v) for v in value.values() if isinstance(v, str | bytes))
    return 0


def _checked(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimit(f"a number over {MAX_INT_BITS} bits")
    weight = _weight(value)
    if weight > MAX_SIZE:
        raise TemplateLimit(f"a value of {weight} characters or items (limit {MAX_SIZE})")
    return value


def _check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    weights = [0, 0]
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_SIZE:
            raise TemplateLimit(f"an argument of {arg} (limit {MAX_SIZE})")
        if isinstance(arg, float) and math.isfinite(arg) and abs(arg) > MAX_SIZE:
            raise TemplateLimit(f"an argument of {arg:g} (limit {MAX_SIZE})")
        _checked(arg)
        weights = sorted([*weights, _weight(arg)])[-2:]
    # join(), replace() and friends build about (one size) x (another).
    if weights[0] * weights[1] > MAX_PRODUCT:
        raise TemplateLimit(f"arguments of {weights[0]} x {weights[1]} characters or items")


def _check_format(text: Any) -> None:
    if isinstance(text, str) and _WIDE_FORMAT.search(text):
        raise TemplateLimit("a format with a width or precision over 9999")


def _bounded(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A filter whose arguments and result are size-checked (keeps jinja's pass_* marks)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _check_arguments(args, kwargs)
        if name == "format" and args:
            _check_format(args[0])
        return _checked(function(*args, **kwargs))

    return wrapper


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise TemplateLimit(f"a range of {len(result)} (limit {MAX_RANGE})")
    return result


def _product_size(left: Any, right: Any) -> int:
    if isinstance(left, Sized) and isinstance(right, int):
        return len(left) * right
    if isinstance(right, Sized) and isinstance(left, int):
        return len(right) * left
    return 0


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox with every way of building something big checked."""

    intercepted_binops = frozenset({"*", "**", "%", "+", "//", "/"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and _product_size(left, right) > MAX_SIZE:
            raise TemplateLimit(f"a repetition over {MAX_SIZE} items")
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise TemplateLimit("a power over 64")
        if operator == "%" and isinstance(left, str):
            _check_format(left)
        return _checked(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        _check_arguments((owner, *args) if isinstance(owner, str) else args, kwargs)
        return _checked(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`'{:>999999999}'.format(1)`: the width is in the string, not an argument."""
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format(owner)
        return super().wrap_str_format(value)


def _to_int(value: Any, default: Any = 0, base: int = 10) -> Any:
    try:
        if isinstance(value, str) and base != 10:
            return int(value, base)
        return int(float(value)) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _to_float(value: Any, default: Any = 0.0) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _round(value: Any, precision: int = 0, method: str = "common", default: Any = None) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return value if default is None else default
    if method == "floor":
        return math.floor(number * 10**precision) / 10**precision
    if method == "ceil":
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


def _environment() -> _Sandbox:
    # Lenient like Home Assistant: a missing key renders "" (Zigbee2MQTT
    # state messages often carry only some properties), while attribute
    # access on something undefined (value_json of a non-JSON payload) fails.
    # optimized=False: no constant folding, which would run filters and
    # method calls on constants at compile time, outside every check here.
    env = _Sandbox(undefined=Undefined, autoescape=False, optimized=False)
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
    env.filters = {name: _bounded(f, name) for name, f in env.filters.items()}
    # No namespace(): it is the one way to carry a value from one loop
    # iteration to the next, and so to grow one without bound.
    env.globals = {
        "range": _safe_range,
        "dict": dict,
        "int": _to_int,
        "float": _to_float,
        "round": _round,
    }
    return env


_ENV = _environment()
_REFUSED: dict[str, str] = {}  # template -> the limit it broke


@lru_cache(maxsize=1024)
def _compile(source: str) -> Any:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateLimit(f"template of {len(source)} characters (limit {MAX_TEMPLATE_CHARS})")
    try:
        return _ENV.from_string(source)
    except (TemplateError, RecursionError, SyntaxError, MemoryError, ValueError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TemplateFailed(f"template {_short(source)} does not compile: {text}") from None


def _short(source: str) -> str:
    return repr(source if len(source) <= 80 else source[:77] + "...")


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Stop template code (frames compiled from "<template>") after `seconds`."""
    end = time.monotonic() + seconds

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            if time.monotonic() > end:
                raise TemplateLimit(f"ran over {seconds:g} s")
            for value in frame.f_locals.values():
                _checked(value)
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        yield
    finally:
        sys.settrace(previous)


def check(source: str) -> None:
    """Raise TemplateFailed if the template does not compile or breaks a limit on a trial."""
    _compile(source)
    try:
        render(source, {"value": "1", "value_json": {}})
    except TemplateLimit:
        raise
    except TemplateFailed:
        pass  # errors from the made-up value are expected; only limits count


def render(source: str, variables: dict[str, Any]) -> str:
    """Render a template with the given variables; TemplateFailed on any error or limit."""
    refused = _REFUSED.get(source)
    if refused is not None:
        raise TemplateLimit(f"template {_short(source)} refused: {refused}")
    template = _compile(source)
    parts: list[str] = []
    size = 0
    try:
        with _deadline(MAX_SECONDS):
            for part in template.generate(**variables):
                size += len(part)
                if size > MAX_OUTPUT:
                    raise TemplateLimit(f"output over {MAX_OUTPUT} characters")
                parts.append(part)
    except TemplateLimit as exc:
        if len(_REFUSED) >= 4096:
            _REFUSED.pop(next(iter(_REFUSED)))
        _REFUSED[source] = str(exc)
        raise TemplateLimit(f"template {_short(source)} refused: {exc}") from None
    except (
        TemplateError,
        TypeError,
        ValueError,
        ArithmeticError,
        LookupError,
        RecursionError,
        MemoryError,
    ) as exc:
        raise TemplateFailed(f"template {_short(source)}: {exc}") from None
    return "".join(parts).strip()


def render_value(source: str | None, payload: str) -> str:
    """A value template (`value`, `value_json`) applied to a state payload; no template = as is."""
    if not source:
        return payload
    if len(payload) > MAX_SIZE:
        raise TemplateFailed(f"payload of {len(payload)} characters (limit {MAX_SIZE})")
    variables: dict[str, Any] = {"value": payload}
    # value_json is left undefined for non-JSON: a template using it fails, as in HA.
    with contextlib.suppress(ValueError, RecursionError):
        variables["value_json"] = json.loads(payload)
    return render(source, variables)


def render_command(source: str | None, value: Any, **extra: Any) -> str:
    """A command template (`value`, plus e.g. `position`) -> the payload to publish."""
    if not source:
        return str(value)
    return render(source, {"value": value, **extra})
