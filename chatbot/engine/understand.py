"""Reading what people type: folding case and accents, short answers, names, typos, language.

Pure functions over skills.json's ``vocabulary``; skills.py compiles patterns
with them and the engine (chat.py) asks them what a message means. No model,
no network: words and patterns per locale, a stemmer, and an edit distance.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Container, Iterable

import jellyfish
import Stemmer

from chatbot.engine import linear

# The ends of a message that carry no meaning: spaces and punctuation (emoji are kept, they mean things).
EDGES = " \t\n.,;:!?¡¿…\"'()[]*_~-–—"
OPENERS = " \t¿¡\"'(*_~"  # what a message may start with before its first word
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
SHORT = 48  # texts up to this long are trimmed once and remembered: the vocabulary's phrases, short answers
MIN_FUZZY = 5  # words shorter than this are never "corrected"
MAX_FILLERS = 6  # opening words taken off a message ("ok so, um, well,"), at most
WORD = linear.scanner(r"[a-z]+")
LETTERS = linear.scanner(r"[^\W\d_]+")
COMMAND = linear.compile(r"^/([a-z0-9_]{1,32})(?:@\w+)?$")
# A sound, not a word: "mmm", "hmm", "umm", "uhh", "ehh", "ahh" (one word, checked whole).
INTERJECTION = linear.compile(r"(?:h?m{2,}|h+m+|u+[hm]+|[aeo]h+)")


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


def bare(text: str) -> str:
    """Lower case, accents off, any other character that is not ASCII dropped: for reading words
    out of a whole text at once (not a span of it, as ``fold`` keeps)."""
    return unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()


def phrase_ends(folded: str, phrase: str) -> list[int]:
    """Where ``phrase`` (trimmed) ends, each time ``folded`` holds it as whole words."""
    bare = trim(phrase)
    ends, at = [], folded.find(bare) if bare else -1
    while at >= 0:
        end = at + len(bare)
        if not folded[at - 1 : at].isalnum() and not folded[end : end + 1].isalnum():
            ends.append(end)
        at = folded.find(bare, at + 1)
    return ends


def says(folded: str, phrase: str) -> bool:
    """Whether ``phrase`` is in ``folded`` as whole words."""
    return bool(phrase_ends(folded, phrase))


def says_any(text: str, phrases: Iterable[str]) -> bool:
    """Whether one of ``phrases`` is in ``text`` as whole words (its words only: "no, todos los
    días" says "no todos los dias")."""
    folded = " ".join(words(fold(text)))
    return any(says(folded, " ".join(words(fold(p)))) for p in phrases)  # "i'll": "i ll", as the text


def trimmed(phrases: Iterable[str]) -> frozenset[str]:
    """``phrases`` trimmed as words are, the empty ones left out: kept for the lists skills.json
    gives (the same few are asked for by every reading of a message)."""
    return _trimmed_phrases(tuple(phrases))


@functools.lru_cache(maxsize=512)
def _trimmed_phrases(phrases: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t for p in phrases if (t := trim(p)))


def trim(text: str) -> str:
    """The message without the punctuation and spaces around it, folded."""
    if len(text) <= SHORT:
        return _trim_short(text)  # skills.json's phrases, trimmed again by every reading of a message
    return fold(text).strip(EDGES)


@functools.lru_cache(maxsize=8192)
def _trim_short(text: str) -> str:
    return fold(text).strip(EDGES)


def meanings(text: str, table: dict[str, list[str]]) -> list[str]:
    """Which short answers ``text`` gives ("yes", "no", "later", "first"...), best first.

    A whole-message phrase wins; otherwise the longest phrase the message starts with, followed by
    a word boundary ("yes please" is yes, "not now" is not "no", "no sé" is unsure)."""
    said = trim(text)
    if not said:
        return []
    trimmed, by_first_word = _trimmed(table)
    exact = [name for name, phrases in trimmed.items() if said in phrases]
    if exact:
        return exact
    best: list[tuple[int, str]] = []
    # A phrase the message starts with, ending at a word's end, opens with the message's first word.
    for bare, name in by_first_word.get(_first_word(said), ()) + by_first_word.get("", ()):
        if said.startswith(bare) and not said[len(bare) : len(bare) + 1].isalnum():
            best.append((len(bare), name))
    longest = max((n for n, _ in best), default=0)  # "no sé" is unsure, not a "no" and more
    return list(dict.fromkeys(name for n, name in sorted(best, reverse=True) if n == longest))


Trimmed = tuple[dict[str, frozenset[str]], dict[str, tuple[tuple[str, str], ...]]]
_TRIMMED: dict[int, tuple[dict, Trimmed]] = {}


def _first_word(text: str) -> str:
    """The letters and digits ``text`` opens with ("" when it opens otherwise: "#1")."""
    end = 0
    while end < len(text) and text[end].isalnum():
        end += 1
    return text[:end]


def _trimmed(table: dict[str, list[str]]) -> Trimmed:
    """``table``'s phrases, trimmed, and the same by their first word, once per table (skills.json's
    do not change while it runs)."""
    key = id(table)
    if key not in _TRIMMED or _TRIMMED[key][0] is not table:
        trimmed = {name: frozenset(trim(p) for p in phrases) for name, phrases in table.items()}
        index: dict[str, list[tuple[str, str]]] = {}
        for name, phrases in trimmed.items():
            for bare in sorted(phrases):
                if bare:
                    index.setdefault(_first_word(bare), []).append((bare, name))
        _TRIMMED[key] = (table, (trimmed, {word: tuple(found) for word, found in index.items()}))
    return _TRIMMED[key][1]


def pick_choice(text: str, choices: list[dict], table: dict[str, list[str]], whole_only: bool = False) -> str:
    """The payload of the choice on screen that ``text`` names: by its title, or by what it means
    (a "yes" button for "sure", the second card for "the second one"); "" when none. With
    ``whole_only``, only a short answer that is the whole message ("yes please", not "yes but")."""
    said = trim(text)
    for choice in choices:
        if trim(choice.get("title", "")) == said:
            return choice["payload"]
    found = meanings(text, table)
    if whole_only:
        found = [m for m in found if said in {trim(p) for p in table.get(m, [])}]
    for meaning in found:
        for choice in choices:
            if meaning in choice.get("means", ()):
                return choice["payload"]
    return ""


def alternation(phrases: list[str]) -> str:
    """A regex alternative of folded phrases, longest first, so "sql server" wins over "sql"."""
    unique = sorted({trim(p) for p in phrases if trim(p)}, key=lambda p: (-len(p), p))
    return "|".join(linear.escape(p) for p in unique)


def near_miss(word: str, names: Iterable[str], shortest: int = MIN_FUZZY) -> str:
    """The one name ``word`` is a slip of the keyboard away from ("pyhton" -> "python"), or "".
    One edit (a letter added, dropped, changed, or two swapped) for words of up to 7 letters, two
    for longer ones; the first letter as typed; nothing when two names are as close, or the word
    is shorter than ``shortest``."""
    if len(word) < shortest:
        return ""
    allowed = 1 if len(word) <= 7 else 2
    best, best_distance, tie = "", allowed + 1, False
    for name in names:
        if name[:1] != word[:1] or abs(len(name) - len(word)) > allowed:
            continue
        distance = jellyfish.damerau_levenshtein_distance(word, name)
        if distance < best_distance:
            best, best_distance, tie = name, distance, False
        elif distance == best_distance:
            tie = True
    return "" if tie or best_distance > allowed else best


def correct(text: str, names: list[str], known: Container[str] = frozenset()) -> str:
    """``text`` (folded) with each longer word that is a near miss of a name replaced by it:
    "pyhton" -> "python". A word of either language (``known``: "could", "great", "terminar") is
    never a typo, whatever name it is close to. Same text when nothing is close."""
    out, last = [], 0
    for found in LETTERS.finditer(text[: linear.MAX_SCAN]):
        word = found.group()
        fixed = word if word in known or word in names else near_miss(word, names)
        out.append(text[last : found.start()] + (fixed or word))
        last = found.end()
    return "".join(out) + text[last:]


class Lexicon:
    """Words of the bot's languages, and every form of them: "terminar" is known when "terminé" is
    (the same Snowball stem), so it is never taken for a slip of "terminal"."""

    def __init__(self, words: Iterable[str], languages: Iterable[str]) -> None:
        self.words = frozenset(words)
        self.stemmers = [Stemmer.Stemmer(name) for name in languages]
        self.stems = [frozenset(stemmer.stemWords(list(self.words))) for stemmer in self.stemmers]

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        return word in self.words or any(
            s.stemWord(word) in stems for s, stems in zip(self.stemmers, self.stems, strict=True)
        )


def typed_command(text: str, known: dict) -> str:
    """``/start`` typed where commands are not a thing of the platform (the web page, Messenger)."""
    found = COMMAND.match(text.lower())
    command = (found.group(1) or "") if found else ""
    return command if command in known else ""


def words(text: str, limit: int = linear.MAX_SCAN) -> list[str]:
    """The words of folded ``text`` (of its first ``limit`` characters: a message's)."""
    return WORD.findall(text[:limit])


def strip_fillers(folded: str, fillers: Iterable[str]) -> str:
    """The message from its first word that asks something, past the words that open it and ask
    nothing ("ok so", "oye", "ya", "also", "mmm"): "ok whats my next assignment" -> "whats my next
    assignment". The whole message when it is nothing but them. A suffix of ``folded``."""
    phrases = _longest_first(tuple(fillers))
    start, end = 0, len(folded.rstrip(EDGES))
    start = _skip_edges(folded, start, end)
    changed, rounds = True, 0
    while changed and start < end and rounds < MAX_FILLERS:
        changed, rounds = False, rounds + 1
        sound = LETTERS.match(folded, start)
        if sound and INTERJECTION.fullmatch(sound.group()):
            after = _skip_edges(folded, sound.end(), end)
            if after < end:
                start, changed = after, True
                continue
        for phrase in phrases:
            stop = start + len(phrase)
            if folded.startswith(phrase, start) and not folded[stop : stop + 1].isalnum():
                after = _skip_edges(folded, stop, end)
                if after < end:
                    start, changed = after, True
                    break
    return folded[start:]


@functools.lru_cache(maxsize=64)
def _longest_first(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({trim(f) for f in phrases if trim(f)}, key=len, reverse=True))


def _skip_edges(text: str, start: int, end: int) -> int:
    while start < end and text[start] in EDGES:
        start += 1
    return start


def language_of(folded: str, own_words: dict[str, frozenset[str]]) -> tuple[str, int]:
    """The language whose own words (words no other one uses) the message holds most of, and by
    how many more than the next; ("", 0) when no word tells."""
    said = words(folded)
    ranked = sorted(((sum(1 for w in said if w in own), loc) for loc, own in own_words.items()), reverse=True)
    if not ranked or ranked[0][0] == 0:
        return "", 0
    margin = ranked[0][0] - (ranked[1][0] if len(ranked) > 1 else 0)
    return (ranked[0][1], margin) if margin > 0 else ("", 0)
