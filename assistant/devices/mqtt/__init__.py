"""The MQTT device backend: Home Assistant discovery, Zigbee2MQTT, state and commands.

Pure parsers (``discovery*``, ``zigbee2mqtt``, ``jinja``) turn retained
configs into entities; ``service`` keeps the registry live over one broker
connection; ``executor`` turns an action into the messages a device expects.
"""
