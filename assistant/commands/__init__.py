"""Subcommands of the `assistant` CLI, one module each (found automatically)."""
