"""Wyoming satellites served without Home Assistant: microphones in other rooms.

The gateway connects to each satellite (listed in ``[[satellites]]`` or found
over zeroconf), hears its commands with that satellite's area as context,
and sends the spoken reply back to it.
"""

from assistant.integrations.satellite.hub import SatelliteHub, runtime_services, wanted
from assistant.integrations.satellite.link import SatelliteLink, Services

__all__ = ["SatelliteHub", "SatelliteLink", "Services", "runtime_services", "wanted"]
