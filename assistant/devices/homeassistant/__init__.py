"""The Home Assistant device backend: a registry and an executor over HA's REST API.

``services`` maps HA states and services to the assistant's entities and
actions (pure); ``backend`` keeps the registry current and executes actions.
The HTTP client itself is ``assistant.transports.homeassistant``.
"""
