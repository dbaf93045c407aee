"""Built-in intent handlers, one module per domain.

Sentences come from Home Assistant's intents package; each module here
registers the handlers for its intents with ``@intent_handler``.  YAML files
in this folder add custom sentences in hassil's format.
"""
