"""Home Assistant MQTT discovery: topics, abbreviations, the `~` base topic.

Pure functions that turn a raw discovery message into a plain dict with
Home Assistant's full key names, exactly as Home Assistant's
``mqtt/discovery.py`` does before validating it: abbreviated keys expanded
(``ABBREVIATIONS``, ``DEVICE_ABBREVIATIONS``, also inside the availability
list), then ``~`` replaced at the start or end of every ``*topic`` value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_CONFIG_BYTES = 64 * 1024  # HA payloads are a few hundred bytes; 1 MB is an attack

COMPONENTS = frozenset(
    {
        "light", "switch", "fan", "cover", "lock", "valve", "climate", "vacuum",
        "sensor", "binary_sensor", "button", "scene",
    }
)  # fmt: skip

# From homeassistant/components/mqtt/abbreviations.py (the keys these
# components use, and the newer default_entity_id / device-based discovery).
ABBREVIATIONS: dict[str, str] = {
    "act_t": "action_topic", "act_tpl": "action_template",
    "avty": "availability", "avty_mode": "availability_mode",
    "avty_t": "availability_topic", "avty_tpl": "availability_template",
    "bat_lev_t": "battery_level_topic", "bat_lev_tpl": "battery_level_template",
    "bri_cmd_tpl": "brightness_command_template", "bri_cmd_t": "brightness_command_topic",
    "bri_scl": "brightness_scale", "bri_stat_t": "brightness_state_topic",
    "bri_tpl": "brightness_template", "bri_val_tpl": "brightness_value_template",
    "clr_temp_cmd_tpl": "color_temp_command_template", "clr_temp_cmd_t": "color_temp_command_topic",
    "clrm": "color_mode", "clrm_stat_t": "color_mode_state_topic",
    "clrm_val_tpl": "color_mode_value_template",
    "clr_temp_stat_t": "color_temp_state_topic", "clr_temp_tpl": "color_temp_template",
    "clr_temp_val_tpl": "color_temp_value_template",
    "cmd_off_tpl": "command_off_template", "cmd_on_tpl": "command_on_template",
    "cmd_t": "command_topic", "cmd_tpl": "command_template",
    "cmps": "components", "cod_form": "code_format",
    "curr_hum_t": "current_humidity_topic", "curr_hum_tpl": "current_humidity_template",
    "curr_temp_t": "current_temperature_topic", "curr_temp_tpl": "current_temperature_template",
    "def_ent_id": "default_entity_id",
    "dev": "device", "dev_cla": "device_class",
    "dir_cmd_t": "direction_command_topic", "dir_cmd_tpl": "direction_command_template",
    "dir_stat_t": "direction_state_topic", "dir_val_tpl": "direction_value_template",
    "e": "encoding", "en": "enabled_by_default", "ent_cat": "entity_category",
    "ent_pic": "entity_picture",
    "fanspd_t": "fan_speed_topic", "fanspd_tpl": "fan_speed_template",
    "fanspd_lst": "fan_speed_list",
    "fx_cmd_tpl": "effect_command_template", "fx_cmd_t": "effect_command_topic",
    "fx_list": "effect_list", "fx_stat_t": "effect_state_topic", "fx_tpl": "effect_template",
    "fx_val_tpl": "effect_value_template", "exp_aft": "expire_after",
    "fan_mode_cmd_tpl": "fan_mode_command_template", "fan_mode_cmd_t": "fan_mode_command_topic",
    "fan_mode_stat_tpl": "fan_mode_state_template", "fan_mode_stat_t": "fan_mode_state_topic",
    "frc_upd": "force_update",
    "hs_cmd_t": "hs_command_topic", "hs_cmd_tpl": "hs_command_template",
    "hs_stat_t": "hs_state_topic", "hs_val_tpl": "hs_value_template",
    "ic": "icon", "init": "initial",
    "json_attr": "json_attributes", "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "max_mirs": "max_mireds", "min_mirs": "min_mireds", "max_temp": "max_temp",
    "min_temp": "min_temp",
    "mode_cmd_tpl": "mode_command_template", "mode_cmd_t": "mode_command_topic",
    "mode_stat_t": "mode_state_topic", "mode_stat_tpl": "mode_state_template",
    "modes": "modes", "name": "name", "o": "origin", "obj_id": "object_id",
    "off_dly": "off_delay", "on_cmd_type": "on_command_type", "ops": "options",
    "opt": "optimistic", "osc_cmd_t": "oscillation_command_topic",
    "osc_cmd_tpl": "oscillation_command_template", "osc_stat_t": "oscillation_state_topic",
    "osc_val_tpl": "oscillation_value_template",
    "pct_cmd_t": "percentage_command_topic", "pct_cmd_tpl": "percentage_command_template",
    "pct_stat_t": "percentage_state_topic", "pct_val_tpl": "percentage_value_template",
    "pl": "payload", "pl_avail": "payload_available", "pl_cln_sp": "payload_clean_spot",
    "pl_cls": "payload_close", "pl_lock": "payload_lock", "pl_loc": "payload_locate",
    "pl_not_avail": "payload_not_available", "pl_off": "payload_off", "pl_on": "payload_on",
    "pl_open": "payload_open", "pl_osc_off": "payload_oscillation_off",
    "pl_osc_on": "payload_oscillation_on", "pl_paus": "payload_pause",
    "pl_prs": "payload_press", "pl_rst": "payload_reset",
    "pl_rst_pct": "payload_reset_percentage", "pl_rst_pr_mode": "payload_reset_preset_mode",
    "pl_stop": "payload_stop", "pl_strt": "payload_start", "pl_stpa": "payload_start_pause",
    "pl_ret": "payload_return_to_base", "pl_toff": "payload_turn_off",
    "pl_ton": "payload_turn_on", "pl_unlk": "payload_unlock",
    "pos": "reports_position", "pos_clsd": "position_closed", "pos_open": "position_open",
    "pow_cmd_t": "power_command_topic", "pow_cmd_tpl": "power_command_template",
    "pr_mode_cmd_t": "preset_mode_command_topic",
    "pr_mode_cmd_tpl": "preset_mode_command_template",
    "pr_mode_stat_t": "preset_mode_state_topic", "pr_mode_val_tpl": "preset_mode_value_template",
    "pr_modes": "preset_modes", "ret": "retain",
    "rgb_cmd_tpl": "rgb_command_template", "rgb_cmd_t": "rgb_command_topic",
    "rgb_stat_t": "rgb_state_topic", "rgb_val_tpl": "rgb_value_template",
    "send_cmd_t": "send_command_topic", "send_if_off": "send_if_off",
    "set_fan_spd_t": "set_fan_speed_topic", "set_pos_tpl": "set_position_template",
    "set_pos_t": "set_position_topic", "pos_t": "position_topic", "pos_tpl": "position_template",
    "spd_rng_min": "speed_range_min", "spd_rng_max": "speed_range_max",
    "src_type": "source_type", "stat_cla": "state_class", "stat_clsd": "state_closed",
    "stat_closing": "state_closing", "stat_jam": "state_jammed", "stat_locked": "state_locked",
    "stat_locking": "state_locking", "stat_off": "state_off", "stat_on": "state_on",
    "stat_open": "state_open", "stat_opening": "state_opening",
    "stat_stopped": "state_stopped", "stat_unlocked": "state_unlocked",
    "stat_unlocking": "state_unlocking", "stat_t": "state_topic", "stat_tpl": "state_template",
    "stat_val_tpl": "state_value_template", "step": "step", "sup_clrm": "supported_color_modes",
    "sup_feat": "supported_features", "sug_dsp_prc": "suggested_display_precision",
    "swing_mode_cmd_tpl": "swing_mode_command_template",
    "swing_mode_cmd_t": "swing_mode_command_topic",
    "swing_mode_stat_tpl": "swing_mode_state_template",
    "swing_mode_stat_t": "swing_mode_state_topic",
    "temp_cmd_tpl": "temperature_command_template", "temp_cmd_t": "temperature_command_topic",
    "temp_stat_tpl": "temperature_state_template", "temp_stat_t": "temperature_state_topic",
    "temp_unit": "temperature_unit", "tilt_cmd_t": "tilt_command_topic",
    "tilt_status_t": "tilt_status_topic", "t": "topic", "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement", "val_tpl": "value_template",
    "whit_cmd_t": "white_command_topic", "whit_scl": "white_scale",
    "xy_cmd_t": "xy_command_topic", "xy_cmd_tpl": "xy_command_template",
    "xy_stat_t": "xy_state_topic", "xy_val_tpl": "xy_value_template",
}  # fmt: skip

DEVICE_ABBREVIATIONS: dict[str, str] = {
    "cns": "connections", "cu": "configuration_url", "ids": "identifiers", "name": "name",
    "mf": "manufacturer", "mdl": "model", "mdl_id": "model_id", "hw": "hw_version",
    "sw": "sw_version", "sa": "suggested_area", "sn": "serial_number",
}  # fmt: skip

TOPIC_BASE = "~"
_SEGMENT = re.compile(r"^[a-zA-Z0-9_-]+$")


class InvalidConfig(ValueError):
    """A discovery message that cannot become an entity; the message is one line."""


@dataclass(frozen=True)
class DiscoveryTopic:
    """`<prefix>/<component>/[<node_id>/]<object_id>/config`, split."""

    component: str
    node_id: str | None
    object_id: str

    @property
    def key(self) -> str:
        """What identifies this entity's config (for updates and removal)."""
        node = f"{self.node_id}/" if self.node_id else ""
        return f"{self.component}/{node}{self.object_id}"


def parse_topic(prefix: str, topic: str) -> DiscoveryTopic | None:
    """Split a discovery topic; None if it is not a `.../config` discovery topic."""
    if not topic.startswith(prefix + "/") or not topic.endswith("/config"):
        return None
    parts = topic[len(prefix) + 1 : -len("/config")].split("/")
    if len(parts) == 2:
        component, object_id = parts
        node_id = None
    elif len(parts) == 3:
        component, node_id, object_id = parts
    else:
        return None
    if not all(_SEGMENT.match(part) for part in parts):
        return None
    return DiscoveryTopic(component, node_id, object_id)


def decode(payload: bytes) -> dict[str, Any] | None:
    """JSON object from a discovery payload; None for an empty (removal) payload."""
    if len(payload) > MAX_CONFIG_BYTES:
        raise InvalidConfig(f"config is {len(payload)} bytes, over {MAX_CONFIG_BYTES}")
    if not payload.strip():
        return None
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidConfig(f"config is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidConfig("config is not a JSON object")
    return data


def _expand_keys(data: dict[str, Any], table: dict[str, str]) -> dict[str, Any]:
    return {table.get(key, key): value for key, value in data.items()}


def expand(raw: dict[str, Any]) -> dict[str, Any]:
    """Full key names and `~` expanded, as Home Assistant does before validating."""
    config = _expand_keys(raw, ABBREVIATIONS)
    device = config.get("device")
    if isinstance(device, dict):
        config["device"] = _expand_keys(device, DEVICE_ABBREVIATIONS)
    availability = config.get("availability")
    if isinstance(availability, dict):
        availability = [availability]
    if isinstance(availability, list):
        config["availability"] = [
            _expand_keys(item, ABBREVIATIONS) if isinstance(item, dict) else item
            for item in availability
        ]
    base = config.pop(TOPIC_BASE, None)
    if isinstance(base, str):
        for key, value in list(config.items()):
            if key.endswith("topic") and isinstance(value, str) and value:
                config[key] = _with_base(value, base)
        for item in config.get("availability") or ():
            if isinstance(item, dict) and isinstance(item.get("topic"), str) and item["topic"]:
                item["topic"] = _with_base(item["topic"], base)
    return config


def _with_base(value: str, base: str) -> str:
    if value.startswith(TOPIC_BASE):
        value = base + value[1:]
    if value.endswith(TOPIC_BASE):
        value = value[:-1] + base
    return value


def split_device_components(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Device-based discovery (`<prefix>/device/<id>/config`): one config per component.

    Options shared at the device level (device, origin, availability, qos,
    `~`, state_topic, ...) are merged into every component before expansion;
    a component's own keys win.  A component given only its platform
    (`{"p": "sensor"}`) maps to an empty dict: that component is removed.
    Keys are `<platform>/<component id>`.
    """
    components = raw.get("cmps", raw.get("components"))
    if not isinstance(components, dict) or not components:
        raise InvalidConfig("device config has no components")
    shared = {k: v for k, v in raw.items() if k not in ("cmps", "components")}
    result: dict[str, dict[str, Any]] = {}
    for key, comp in components.items():
        platform = comp.get("p", comp.get("platform")) if isinstance(comp, dict) else None
        if not isinstance(platform, str) or not isinstance(comp, dict):
            raise InvalidConfig(f"device component {key!r} has no platform")
        own = {k: v for k, v in comp.items() if k not in ("p", "platform")}
        result[f"{platform}/{key}"] = expand({**shared, **own}) if own else {}
    return result
