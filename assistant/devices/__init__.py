"""Devices: the live registry of entities and the executor that commands them."""
