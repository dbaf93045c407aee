"""Devices: the live registry of entities and the executor that commands them.

``backend.open_backend`` is the one place that picks the backend (Home
Assistant, else MQTT, else none) for every command; ``mqtt/`` and
``homeassistant/`` are the two backends, ``configured`` the ``[[devices]]``
every backend lists.  ``entities`` and ``actions`` are the typed vocabulary
intents use: entities, states, and the action verbs with their parameters.
"""
