"""Errors that reach the user as one line, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; str(error) is the whole message, one line."""
