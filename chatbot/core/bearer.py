"""Bearer tokens, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Mapping


def bearer_ok(headers: Mapping[str, str], expected: str) -> bool:
    """Whether ``Authorization: Bearer <token>`` carries ``expected`` (never true when it is empty)."""
    header = headers.get("Authorization", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), expected.encode())
