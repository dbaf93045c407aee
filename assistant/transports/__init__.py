"""Connections to the outside of the process: the MQTT broker, Home Assistant."""
