"""The package logger ``nebula_images``: NEBULA_LOG=debug|info turns it on.

Every record passes a filter that redacts bearer tokens and ``ak_`` keys, as a
second line of defence behind never formatting the key in the first place.
"""

from __future__ import annotations

import functools
import logging
import os
import re

from ._redaction import REDACTED

__all__ = ["REDACTED", "configure_from_env", "logger"]

logger = logging.getLogger("nebula_images")


@functools.cache
def _secret() -> re.Pattern[str]:
    # Compiled on the first record that passes the level: with logging off, never.
    return re.compile(r"(Bearer\s+)[^\s'\",}]+|\bak_[A-Za-z0-9_\-]{4,}", re.IGNORECASE)


def _scrub(text: str) -> str:
    return _secret().sub(lambda m: (m.group(1) or "") + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Replaces bearer tokens and API keys in a record's message with ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = _scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


if not any(isinstance(f, RedactingFilter) for f in logger.filters):
    logger.addFilter(RedactingFilter())

_configured = False


def configure_from_env() -> None:
    """Honour NEBULA_LOG=debug|info once: a stderr handler at that level."""
    global _configured
    if _configured:
        return
    _configured = True
    level = {"debug": logging.DEBUG, "info": logging.INFO}.get(
        os.environ.get("NEBULA_LOG", "").strip().lower()
    )
    if level is None:
        return
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
