"""assistant: an offline voice assistant for smart-home gateways."""

__version__ = "0.1.0"
