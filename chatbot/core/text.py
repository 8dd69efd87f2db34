"""Text as the platforms count and show it: UTF-16 lengths, splitting, shortening, plain text."""

from __future__ import annotations

import unicodedata


def utf16_len(text: str) -> int:
    """Length as Telegram and Messenger count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def plain_text(text: str) -> str:
    """Text with every control and format character removed (terminal escapes, bidi overrides,
    zero-width tricks) and white space folded: safe to keep, and to print on an owner's terminal."""
    kept = "".join(" " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c)[0] != "C")
    return " ".join(kept.split())


def split_text(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most ``limit`` UTF-16 units, at line or word boundaries
    where possible, so no platform has to cut a message for us."""
    text = text.strip()
    if not text:
        return []
    chunks: list[str] = []
    while utf16_len(text) > limit:
        cut = _fit(text, limit)
        window = text[:cut]
        boundary = max(window.rfind("\n"), window.rfind(" "))
        if boundary > cut // 2:
            cut = boundary
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def shorten(text: str, limit: int) -> str:
    """Fit a title into ``limit`` UTF-16 units, marking the cut with an ellipsis."""
    if utf16_len(text) <= limit:
        return text
    return text[: _fit(text, limit - 1)].rstrip() + "…"
