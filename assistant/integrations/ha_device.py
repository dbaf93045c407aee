"""The assistant as one device in Home Assistant (MQTT device-based discovery).

Pure: ``discovery_message`` builds the retained config for
``<prefix>/device/<id>/config`` from the interface's topics.  Every entity
reads or writes the assistant's own ``assistant/<site>/...`` topics (see
``assistant.interface``); availability is the interface's ``available`` topic
with its last will.  Key names follow Home Assistant's MQTT documentation;
the short forms (``dev``, ``o``, ``cmps``, ``p``, ``avty_t``) are the ones its
device discovery examples use.

Removing the device is left to the user (an empty retained payload on the
same topic, README "In Home Assistant"): a gateway that stops would
otherwise delete the entities, their history and the dashboards using them.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from assistant import __version__
from assistant.devices.mqtt.service import ORIGIN_NAME
from assistant.integrations.controls import ControlTopics
from assistant.wake.detector import MODELS

if TYPE_CHECKING:
    from assistant.interface import Topics

EVENT_TYPES: tuple[str, ...] = ("wake", "intent", "error")
"""What the event entity reports: a wake word, an understood request, a failed turn."""
TEXT_MAX = 255  # Home Assistant's limit for an MQTT text entity

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def device_id(site: str) -> str:
    """The device's id: one discovery topic level, unique per site."""
    return "assistant_" + _UNSAFE.sub("_", site)


def discovery_topic(site: str, prefix: str = "homeassistant") -> str:
    """`<prefix>/device/<id>/config`."""
    return f"{prefix.rstrip('/')}/device/{device_id(site)}/config"


def _components(topics: Topics, ident: str) -> dict[str, dict[str, Any]]:
    controls = ControlTopics(topics.base)

    def uid(key: str) -> str:
        return f"{ident}_{key}"

    components: dict[str, dict[str, Any]] = {
        "state": {
            "p": "sensor",
            "name": "State",
            "unique_id": uid("state"),
            "state_topic": topics.state,
            "device_class": "enum",
            "options": ["idle", "listening", "thinking", "speaking"],
            "icon": "mdi:account-voice",
        },
        "transcript": {
            "p": "sensor",
            "name": "Last transcript",
            "unique_id": uid("transcript"),
            "state_topic": topics.transcript,
            # A sensor state holds 255 characters; the full text stays an attribute.
            "value_template": "{{ value_json.text | truncate(255) }}",
            "json_attributes_topic": topics.transcript,
            "icon": "mdi:text-recognition",
        },
        "intent": {
            "p": "sensor",
            "name": "Last intent",
            "unique_id": uid("intent"),
            "state_topic": topics.intent,
            "value_template": "{{ value_json.intent or 'none' }}",
            "json_attributes_topic": topics.intent,
            "icon": "mdi:head-lightbulb",
        },
        "events": {
            "p": "event",
            "name": "Activity",
            "unique_id": uid("events"),
            "state_topic": controls.event,
            "event_types": list(EVENT_TYPES),
        },
        "mute": {
            "p": "switch",
            "name": "Mute microphone",
            "unique_id": uid("mute"),
            "command_topic": controls.mute_set,
            "state_topic": controls.mute,
            "payload_on": "ON",
            "payload_off": "OFF",
            "icon": "mdi:microphone-off",
        },
        "wake_word": {
            "p": "select",
            "name": "Wake word",
            "unique_id": uid("wake_word"),
            "command_topic": controls.wake_word_set,
            "state_topic": controls.wake_word,
            "options": list(MODELS),
            "entity_category": "config",
        },
        "listen": {
            "p": "button",
            "name": "Listen",
            "unique_id": uid("listen"),
            "command_topic": controls.listen,
            "payload_press": "PRESS",
            "icon": "mdi:microphone",
        },
        "ask": {
            "p": "text",
            "name": "Ask",
            "unique_id": uid("ask"),
            "command_topic": topics.ask,
            "max": TEXT_MAX,
            "icon": "mdi:message-question",
        },
    }
    if topics.say_from == "anyone":
        # With `mqtt_say = "trusted"` only say/<user> speaks: Home Assistant gets no notify.
        components["say"] = {
            "p": "notify",
            "name": "Say",
            "unique_id": uid("say"),
            "command_topic": topics.say,
            "icon": "mdi:bullhorn",
        }
    return components


def discovery_config(topics: Topics) -> dict[str, Any]:
    """The device discovery config (a JSON object) for the site of `topics`."""
    ident = device_id(topics.site)
    return {
        "dev": {
            "ids": [ident],
            "name": f"Assistant {topics.site}",
            "mf": "assistant",
            "mdl": "Offline voice assistant",
            "sw": __version__,
        },
        "o": {"name": ORIGIN_NAME, "sw": __version__},
        "avty_t": topics.available,
        "qos": 1,
        "cmps": _components(topics, ident),
    }


def discovery_message(topics: Topics, prefix: str = "homeassistant") -> tuple[str, str]:
    """(topic, JSON payload) of the retained device discovery config."""
    return discovery_topic(topics.site, prefix), json.dumps(discovery_config(topics))
