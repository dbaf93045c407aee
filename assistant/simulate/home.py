"""A simulated home described in YAML: areas, entities, features, initial state.

The YAML is untrusted input (a user may hand-write it), so it is validated
with pydantic and every problem becomes one ``UserError`` naming the key and
the file.  The models are frozen; the fleet keeps live state elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from assistant.devices.entities import Domain
from assistant.errors import UserError

Feature = Literal[
    "brightness",  # light: dimmable
    "color",  # light: RGB colour
    "color_temp",  # light: white colour temperature
    "position",  # cover / valve: reports and accepts a position 0-100
    "percentage",  # fan: speed as a percentage
    "oscillation",  # fan: oscillates
    "stop",  # cover / valve: can stop while moving
    "fan_speed",  # vacuum: suction levels
]

_OBJECT_ID = re.compile(r"^[a-z0-9_]+$")


def slugify(text: str) -> str:
    """HA-style slug: lower case, runs of anything but a-z0-9 become one '_'."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug or "unnamed"


def _on_off(value: Any) -> Any:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AreaSpec(_Model):
    """A room; `floor` places it on a floor."""

    name: str = Field(min_length=1)
    floor: str | None = None


class EntitySpec(_Model):
    """One simulated entity and how it presents itself over discovery."""

    kind: Domain
    name: str = Field(min_length=1, description="Friendly name.")
    id: str | None = Field(
        default=None, description="object id or full entity id; None = slug of the name."
    )
    area: str | None = None
    device: str | None = Field(
        default=None,
        description="Device name shared by several entities; None = the entity is its own "
        "device and its discovery name is null (HA's rule: the friendly name is the device's).",
    )
    device_class: str | None = None
    features: tuple[Feature, ...] = ()
    aliases: tuple[str, ...] = ()
    unit: str | None = Field(default=None, description="Sensor unit of measurement.")
    state: str | None = Field(default=None, description="Initial state in HA's vocabulary.")
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Initial attributes (brightness 0-255, position...)."
    )
    # Protocol presentation.
    light_schema: Literal["default", "json"] | None = Field(
        default=None, description="Light discovery schema; None = json for colour lights."
    )
    abbreviated: bool | None = Field(
        default=None, description="Abbreviated keys with '~'; None = by kind (Tasmota-like)."
    )
    brightness_scale: int = Field(default=255, ge=1, le=65535)
    speeds: int | None = Field(
        default=None, ge=1, le=100, description="Fan: number of speeds (speed_range_max)."
    )
    preset_modes: tuple[str, ...] = ()
    hvac_modes: tuple[str, ...] = ("off", "heat", "cool", "auto")
    min_temp: float = 7.0
    max_temp: float = 35.0
    temp_step: float = 0.5
    fan_speeds: tuple[str, ...] = ("quiet", "standard", "turbo")
    scene: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Scene only: entity id -> target state and attributes when activated.",
    )

    @field_validator("state", mode="before")
    @classmethod
    def _yaml_bool_state(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `on` / `off` as a boolean.
        return _on_off(value)

    @field_validator("scene", mode="before")
    @classmethod
    def _yaml_bool_scene(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {
            k: {a: _on_off(v) if a == "state" else v for a, v in t.items()}
            if isinstance(t, dict)
            else t
            for k, t in value.items()
        }

    @property
    def object_id(self) -> str:
        """The part after the dot of the entity id."""
        if self.id is None:
            return slugify(self.name)
        return self.id.split(".", 1)[1] if "." in self.id else self.id

    @property
    def friendly_name(self) -> str:
        """The name HA derives: the device's, followed by the entity's when it has a device."""
        return f"{self.device} {self.name}" if self.device else self.name

    @property
    def entity_id(self) -> str:
        """`<kind>.<object_id>`, as HA's `default_entity_id`."""
        return f"{self.kind}.{self.object_id}"

    @model_validator(mode="after")
    def _check(self) -> EntitySpec:
        if self.id is not None:
            domain, _, obj = self.id.rpartition(".")
            if domain and domain != self.kind:
                raise ValueError(f"id {self.id!r} does not start with kind {self.kind!r}")
            if not _OBJECT_ID.match(obj):
                raise ValueError(f"id {self.id!r}: use lower-case letters, digits and '_'")
        if self.scene and self.kind != "scene":
            raise ValueError("only a scene has 'scene' targets")
        return self


class Home(_Model):
    """The whole simulated home."""

    name: str = "Simulated home"
    topic_root: str = Field(
        default="sim", pattern=r"^[A-Za-z0-9_\-/]+$", description="Device topics live under it."
    )
    areas: tuple[AreaSpec, ...] = ()
    entities: tuple[EntitySpec, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Home:
        areas = {a.name for a in self.areas}
        seen: set[str] = set()
        for index, entity in enumerate(self.entities):
            where = f"entities.{index}"
            if entity.area is not None and entity.area not in areas:
                raise ValueError(f"{where}.area: unknown area {entity.area!r}")
            if entity.entity_id in seen:
                raise ValueError(f"{where}.id: duplicate entity id {entity.entity_id!r}")
            seen.add(entity.entity_id)
        for index, entity in enumerate(self.entities):
            for target in entity.scene:
                if target not in seen:
                    raise ValueError(f"entities.{index}.scene: unknown entity {target!r}")
        return self

    def entity(self, entity_id: str) -> EntitySpec:
        """One entity by id (KeyError if absent)."""
        for spec in self.entities:
            if spec.entity_id == entity_id:
                return spec
        raise KeyError(entity_id)

    def floor_of(self, area: str | None) -> str | None:
        """The floor of an area, if any."""
        for spec in self.areas:
            if spec.name == area:
                return spec.floor
        return None

    def floors(self) -> dict[str, str]:
        """Area name -> floor name (discovery cannot carry floors: set them on the registry)."""
        return {a.name: a.floor for a in self.areas if a.floor}

    def overrides(self) -> dict[str, dict[str, Any]]:
        """Aliases as `[entities."<id>"]` config tables (discovery cannot carry them)."""
        return {e.entity_id: {"aliases": list(e.aliases)} for e in self.entities if e.aliases}


def _describe(error: Mapping[str, Any], origin: str) -> str:
    key = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{origin}: unknown key '{key}'"
    if kind == "missing":
        return f"{origin}: missing key '{key}'"
    message = str(error["msg"]).removeprefix("Value error, ")
    if key:
        return f"{origin}: key '{key}': {message}"
    return f"{origin}: {message}"


def parse_home(data: Any, origin: str = "home") -> Home:
    """Validate a mapping as a Home; UserError naming the first bad key and the origin."""
    if not isinstance(data, dict):
        raise UserError(f"{origin}: a home file must be a mapping with 'areas' and 'entities'")
    try:
        return Home.model_validate(data)
    except ValidationError as exc:
        raise UserError(_describe(exc.errors()[0], origin)) from None


def load_home(path: Path) -> Home:
    """Read and validate a home YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: home file not found") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read home file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: home file is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_home(data, str(path))


def example_home_path() -> Path:
    """The example home shipped in the package."""
    return Path(str(resources.files("assistant") / "data" / "example_home.yaml"))


def load_example_home() -> Home:
    """The shipped example home."""
    return load_home(example_home_path())
