"""How the assistant shows itself to the rest of a smart home (Home Assistant, ...)."""
