"""The one redaction routine and its placeholder: the API key out of any text we show.

Every layer that may show text a server or a user wrote (errors, logs, reprs, sidecars,
the CLI) replaces the key through :func:`redact_secret`, so there is one placeholder.
"""

from __future__ import annotations

__all__ = ["REDACTED", "redact_secret"]

REDACTED = "[redacted]"


def redact_secret(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``[redacted]``."""
    return text.replace(secret, REDACTED) if secret else text
