"""Text from the network, made safe to print and to log.

Device names, topics, transcripts and replies can come from any client on the
broker.  Printed raw, an escape sequence rewrites the user's terminal, a bell
rings, a lone surrogate (valid in JSON, not in UTF-8) crashes the print with
a traceback, and a 60,000-character name turns a table into megabytes.
Everything the CLI prints or logs that did not come from us goes through
here: control characters are shown escaped (``\\x1b``), lone surrogates
become U+FFFD, and lengths are capped with an ellipsis.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from typing import Any

NAME_LIMIT = 120
"""A name in a table."""
TEXT_LIMIT = 1000
"""A reply, transcript or JSON string."""
LOG_LIMIT = 2000
"""One log message."""
ELLIPSIS = "…"

# Unicode "format" characters that reorder or hide text (bidi overrides, zero
# widths) are as misleading on a terminal as control characters.
_ESCAPED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"  # a lone surrogate: cannot be encoded, say it was there
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def cap(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, an ellipsis saying it was cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def clean(value: object, limit: int = TEXT_LIMIT) -> str:
    """`value` as one printable line: control characters escaped, capped."""
    text = value if isinstance(value, str) else str(value)
    # Cut first (with room for escapes to grow), so a huge name costs nothing.
    text = text[: limit * 2]
    if text.isprintable():
        return cap(text, limit)
    out = "".join(
        _escape(ch) if unicodedata.category(ch) in _ESCAPED_CATEGORIES else ch for ch in text
    )
    return cap(out, limit)


def unicode_safe(value: str, limit: int = TEXT_LIMIT) -> str:
    """For JSON: lone surrogates replaced, length capped; JSON escapes the rest."""
    text = cap(value, limit)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text


def json_safe(value: Any, limit: int = TEXT_LIMIT) -> Any:
    """`value` (JSON-ready data) with every string made `unicode_safe`."""
    if isinstance(value, str):
        return unicode_safe(value, limit)
    if isinstance(value, dict):
        return {unicode_safe(str(k), limit): json_safe(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, limit) for v in value]
    return value


class SafeLogFilter(logging.Filter):
    """Renders each record's message once, escaped, capped, secrets masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        """Values never to show in a log line (passwords, tokens)."""
        # Longest first, so a secret containing another is masked whole.
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg!r} {record.args!r}"
        for secret in self.secrets:
            message = message.replace(secret, "***")
        record.msg = clean(message, LOG_LIMIT)
        record.args = None
        return True


def install_log_filter(secrets: Iterable[str] = ()) -> SafeLogFilter:
    """Put one `SafeLogFilter` on every root handler (again: update its secrets)."""
    root = logging.getLogger()
    found: SafeLogFilter | None = None
    for handler in root.handlers:
        for existing in handler.filters:
            if isinstance(existing, SafeLogFilter):
                found = existing
    if found is None:
        found = SafeLogFilter()
        for handler in root.handlers:
            handler.addFilter(found)
    found.set_secrets(secrets)
    return found
