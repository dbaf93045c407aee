"""Wire clients only: the MQTT connection and Home Assistant's REST API.

What the messages mean for the home lives in ``assistant.devices``.
"""
