"""Who may publish to a command topic: one entity, or one device's entities.

A discovery config is a retained message anyone on the broker can write.
A fake "Porch Light" whose command topic is the front door lock's would
make "turn on the porch light" unlock the door, with no confirmation, since
lights are not sensitive.  So every topic an entity publishes to is claimed
by it, and a conflicting claim is refused with one log line naming both
entities:

- entities from one source message (one device-based discovery config,
  Zigbee2MQTT's device list, the config file) share topics freely, as do
  two non-sensitive entities of one device (Zigbee2MQTT's ``<name>/set``);
- otherwise the first claimant keeps the topic, except that a sensitive
  entity (lock, garage door, gate, gas valve) always wins against a
  non-sensitive one, whichever came first: the non-sensitive one is
  removed.  Retained configs arrive in topic order ("light" before
  "lock"), so "first" alone would hand the lock's topic to the fake light.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.devices.mqtt.discovery import Discovered
from assistant.devices.mqtt.discovery_checks import is_command_key


@dataclass(frozen=True)
class Claim:
    """One entity's hold on its command topics."""

    key: str  # the device service's source key
    entity_id: str
    sensitive: bool
    group: str | None  # entities of one source message
    device: frozenset[str]  # device identifiers and node id


@dataclass(frozen=True)
class Verdict:
    """The outcome of a claim: refused (with the line to log), or the claims to evict first."""

    refused: str | None = None
    evict: tuple[Claim, ...] = ()


def command_topics(d: Discovered) -> set[str]:
    """Every topic the entity publishes commands to."""
    return {v for k, v in d.config.items() if is_command_key(k) and isinstance(v, str) and v}


def _group(key: str) -> str | None:
    if key.startswith("discovery:device/"):
        return key.rsplit("/", 2)[0]  # discovery:device/<id> for all its components
    if key.startswith(("z2m:", "config:")):
        return key.split(":", 1)[0]
    return None


def _node(key: str) -> frozenset[str]:
    parts = key.split(":", 1)[-1].split("/")
    return frozenset({f"node:{parts[1]}"}) if len(parts) == 3 else frozenset()


def claim_of(d: Discovered, key: str) -> Claim:
    """The claim an installed entity makes."""
    return Claim(
        key, d.entity.entity_id, d.entity.sensitive, _group(key), d.identifiers | _node(key)
    )


def _may_share(a: Claim, b: Claim) -> bool:
    if a.group is not None and a.group == b.group:
        return True
    return not a.sensitive and not b.sensitive and bool(a.device & b.device)


class CommandTopics:
    """Command topic -> the claims holding it."""

    def __init__(self) -> None:
        self._holders: dict[str, list[Claim]] = {}

    def judge(self, d: Discovered, key: str) -> Verdict:
        """May this entity have its command topics?  Nothing changes until ``take``."""
        new = claim_of(d, key)
        evict: dict[str, Claim] = {}
        for topic in sorted(command_topics(d)):
            for held in self._holders.get(topic, ()):
                if held.key == key or _may_share(held, new):
                    continue
                if new.sensitive and not held.sensitive:
                    evict[held.key] = held
                    continue
                return Verdict(
                    refused=f"{new.entity_id} ({key}) refused: its command topic {topic!r} "
                    f"belongs to {held.entity_id} ({held.key})"
                )
        return Verdict(evict=tuple(evict.values()))

    def take(self, d: Discovered, key: str) -> None:
        """Record the entity's claims (after ``judge`` allowed them)."""
        self.release(key)
        new = claim_of(d, key)
        for topic in command_topics(d):
            self._holders.setdefault(topic, []).append(new)

    def release(self, key: str) -> None:
        """Forget every claim of a source key (the entity is gone or changing)."""
        for topic in [
            t for t, claims in self._holders.items() if any(c.key == key for c in claims)
        ]:
            remaining = [c for c in self._holders[topic] if c.key != key]
            if remaining:
                self._holders[topic] = remaining
            else:
                del self._holders[topic]
