"""The words of time as people type them: the text cut into tokens once (a linear-time pattern,
no backtracking), numbers written as words turned into digits by text2num, and runs of tokens
looked up in skills.json's ``durations`` vocabulary (units, periods, days, parts of the day).
Read by amounts.py (how much time) and clock.py (what time of day)."""

from __future__ import annotations

import contextlib

from text_to_num import alpha2digit

from chatbot.engine import linear
from chatbot.engine.understand import fold

TOKEN = linear.scanner(r"\d{1,9}(?:[.,]\d{1,6})?|[a-z]+|[^\sa-z\d]")
MAX_WORDS_READ = 300  # characters given to text2num: an amount is said near the start
MAX_PHRASE = 5  # tokens in the longest vocabulary phrase looked for
MAX_TOKENS = 80  # an amount of time is said in a sentence: the rest of a long message is not read
# The clock's own notation, in every language.
NOTATION = {("am",): "am", ("pm",): "pm", ("a", ".", "m"): "am", ("p", ".", "m"): "pm"}
NOTATION |= {(*k, "."): v for k, v in NOTATION.items() if len(k) == 3}
ARTICLES = frozenset({"a", "an", "un", "una"})  # numbers of the vocabulary that are mostly articles
NOT_OF_TIME = ("except", "day_off")  # lists of the vocabulary whose words say no time ("menos", "no")
Mark = tuple[int, str, "float | str"]  # (token index, kind, value)


# A quarter of an hour said in Spanish ("y cuarto", "cuarto de hora") is no ordinal: text2num
# would read it as "4o" (the fourth), and "las 7 y cuarto de la tarde" as 16:00. A number whose last
# s is dropped before "hora" is that number.
QUARTER = (
    ("do' hora", "dos hora"),  # the Caribbean's dropped s: "do' hora", "tre' hora"
    ("tre' hora", "tres hora"),
    ("tres cuartos de hora", "quarters de hora"),
    ("cuarto de hora", "quarter de hora"),
    ("y cuarto", "y quarter"),
    ("menos cuarto", "menos quarter"),
)


def _quarters(said: str) -> str:
    for spoken, kept in QUARTER:
        said = said.replace(spoken, kept)
    return said


def tokens(text: str, lang: str = "") -> list[str]:
    """The words, numbers and signs of ``text``, folded, numbers written as words as digits."""
    said = _quarters(fold(text)[:MAX_WORDS_READ])
    if any(c.isalpha() for c in said):
        for language in ([lang] if lang else []) or ["en", "es"]:
            with contextlib.suppress(ValueError, RuntimeError):  # text2num found nothing it can read
                said = fold(alpha2digit(said, language))  # "dos", "un par": the vocabulary's
    return split(said)


def with_digits(text: str, lang: str = "") -> str:
    """``text`` folded, with numbers written as words as digits ("una hora" -> "1 hora"), or as
    it was when it holds none (or text2num cannot read it)."""
    said = _quarters(fold(text)[:MAX_WORDS_READ])
    for language in ([lang] if lang else []) or ["en", "es"]:
        with contextlib.suppress(ValueError, RuntimeError):
            said = fold(alpha2digit(said, language))
    return said


def split(folded: str) -> list[str]:
    return TOKEN.findall(folded)[:MAX_TOKENS]


def _phrases(table: dict, key: str) -> dict[tuple[str, ...], str]:
    out = {}
    for phrase in table.get(key, []):
        words = tuple(t for t in split(fold(phrase)) if t)
        if words:
            out[words] = key
    return out


class Reader:
    """One vocabulary's words, looked up by runs of tokens (longest first)."""

    def __init__(self, table: dict, kinds: tuple[str, ...]) -> None:
        self.words: dict[tuple[str, ...], str] = dict(NOTATION) if "am" in kinds else {}
        for kind in kinds:
            self.words.update(_phrases(table, kind))
        self.numbers = {tuple(split(fold(k))): float(v) for k, v in table.get("numbers", {}).items()}
        self.weekdays = {tuple(split(fold(k))): str(v) for k, v in table.get("weekdays", {}).items()}

    def lookup(self, toks: list[str], i: int) -> tuple[str, float | str, int]:
        """What starts at token ``i``: (kind, value, length); ("", "", 1) when nothing known."""
        for n in range(min(MAX_PHRASE, len(toks) - i), 0, -1):
            run = tuple(toks[i : i + n])
            if run in self.words:
                return self.words[run], "", n
            if run in self.numbers:
                return "number", self.numbers[run], n
            if run in self.weekdays:
                return "weekday_name", self.weekdays[run], n
        token = toks[i]
        if token[:1].isdigit():
            return "number", float(token.replace(",", ".")), 1
        return "", "", 1


_READERS: dict[tuple[int, tuple[str, ...]], tuple[dict, Reader]] = {}
_WORDS: dict[int, tuple[dict, frozenset[str]]] = {}


def words_of(table: dict) -> frozenset[str]:
    """Every word of a ``durations`` vocabulary (units, periods, numbers, parts of the day), once
    per table: what a message that only says when or how much is made of."""
    if id(table) not in _WORDS or _WORDS[id(table)][0] is not table:
        lists = (v for k, v in table.items() if isinstance(v, list) and k not in NOT_OF_TIME)
        phrases = [*table.get("numbers", {}), *(p for v in lists for p in v)]
        _WORDS[id(table)] = (table, frozenset(w for p in phrases for w in split(fold(str(p))) if w.isalpha()))
    return _WORDS[id(table)][1]


def reader(table: dict, kinds: tuple[str, ...]) -> Reader:
    """The reader of a vocabulary, built once (skills.json's tables do not change while it runs)."""
    key = (id(table), kinds)
    if key not in _READERS or _READERS[key][0] is not table:
        _READERS[key] = (table, Reader(table, kinds))
    return _READERS[key][1]


def marks(reader: Reader, toks: list[str]) -> list[tuple[int, str, float | str]]:
    """The text as (token index, kind, value) for every word or number the vocabulary knows."""
    out, i = [], 0
    while i < len(toks):
        kind, value, n = reader.lookup(toks, i)
        if kind:
            out.append((i, kind, value))
        i += n
    return out
