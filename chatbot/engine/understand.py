"""Reading what people type: folding case and accents, short answers, names, and typos.

Pure functions over skills.json's ``vocabulary``; skills.py compiles patterns
with them and the engine (chat.py) asks them what a message means. No model,
no network: words and patterns per locale, and the standard library.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

# The ends of a message that carry no meaning: spaces and punctuation (emoji are kept, they mean things).
EDGES = " \t\n.,;:!?¡¿…\"'()[]*_~-–—"
OPENERS = " \t¿¡\"'(*_~"  # what a message may start with before its first word
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
MIN_FUZZY = 4  # words shorter than this are never "corrected"
FUZZY_CUTOFF = 0.8


def fold(text: str) -> str:
    """Lower case without accents, one character for one, so a span of the result is a span of
    ``text`` (a name captured from folded text is cut from what the person wrote)."""
    if text.isascii():
        return text.lower()
    out = []
    for char in text:
        low = char.lower()
        if len(low) != 1:
            out.append(char)
            continue
        bare = "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))
        out.append(bare if len(bare) == 1 else low)
    return "".join(out)


def trim(text: str) -> str:
    """The message without the punctuation and spaces around it, folded."""
    return fold(text).strip(EDGES)


def meanings(text: str, table: dict[str, list[str]]) -> list[str]:
    """Which short answers ``text`` gives ("yes", "no", "later", "first"...), best first.

    A whole-message phrase wins; otherwise the longest phrase the message starts with, followed by
    a word boundary ("yes please" is yes, "not now" is not "no")."""
    said = trim(text)
    if not said:
        return []
    exact = [name for name, phrases in table.items() if said in {trim(p) for p in phrases}]
    if exact:
        return exact
    best: list[tuple[int, str]] = []
    for name, phrases in table.items():
        for phrase in phrases:
            bare = trim(phrase)
            if bare and said.startswith(bare) and not said[len(bare) : len(bare) + 1].isalnum():
                best.append((len(bare), name))
    return [name for _, name in sorted(best, reverse=True)]


def pick_choice(text: str, choices: list[dict], table: dict[str, list[str]]) -> str:
    """The payload of the choice on screen that ``text`` names: by its title, or by what it means
    (a "yes" button for "sure", the second card for "the second one"); "" when none."""
    said = trim(text)
    for choice in choices:
        if trim(choice.get("title", "")) == said:
            return choice["payload"]
    for meaning in meanings(text, table):
        for choice in choices:
            if meaning in choice.get("means", ()):
                return choice["payload"]
    return ""


def alternation(phrases: list[str]) -> str:
    """A regex alternative of folded phrases, longest first, so "sql server" wins over "sql"."""
    unique = sorted({trim(p) for p in phrases if trim(p)}, key=lambda p: (-len(p), p))
    return "|".join(re.escape(p) for p in unique)


def correct(text: str, words: list[str]) -> str:
    """``text`` (folded) with each longer word that is a near miss of a known name replaced by it:
    "pyhton" -> "python". Same text when nothing is close; never touches short words."""

    def fix(match: re.Match) -> str:
        word = match.group()
        if len(word) < MIN_FUZZY or word in words:
            return word
        close = difflib.get_close_matches(word, words, n=1, cutoff=FUZZY_CUTOFF)
        return close[0] if close else word

    return re.sub(r"[^\W\d_]+", fix, text)


def typed_command(text: str, known: dict) -> str:
    """``/start`` typed where commands are not a thing of the platform (the web page, Messenger)."""
    found = re.match(r"^/([a-z0-9_]{1,32})(?:@\w+)?$", text.lower())
    return found.group(1) if found and found.group(1) in known else ""
