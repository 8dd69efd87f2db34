"""How a message is put, beside what it asks: its clauses, the words that open it and ask nothing,
a negation before an act, a question or a request, and words respelled as people type them ("q"
for "que", "kiero", "avanzadísimo").

Pure functions over folded text (understand.fold: one character for one, so a span of the folded
text is a span of the message) and skills.json's vocabulary (``meanings``): ``but`` (words that
join two clauses), ``negation``, ``request`` (what opens a request or a question),
``spelled_<word>`` (the ways people type <word>) and ``cue_<intent>`` (stems that give a sign of
an intent, for a question with buttons, never for acting). Every scan is one pass of a linear
tokenizer over at most ``linear.MAX_SCAN`` characters, with bounded lookups.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from chatbot.engine import linear, understand

CLAUSE_MARKS = frozenset(",;.!?¿¡:\n()…")
MAX_CLAUSES = 6  # clauses read one by one; the last one holds the rest of a longer message
NEGATION_REACH = 4  # words between a negation and the act it negates ("don't really want to learn")
TOKEN = linear.scanner(r"[^\W_]+|[^\w\s]")
SUPERLATIVE = ("isimos", "isimas", "isimo", "isima")  # "avanzadísimo" is a very "avanzado"


@dataclass
class Said:
    """A message as read: the text (respelled), folded, and its clauses as (start, end) spans."""

    text: str
    folded: str
    clauses: list[tuple[int, int]] = field(default_factory=list)

    def clause_of(self, index: int) -> tuple[int, int]:
        """The clause that holds the character at ``index`` (the whole text when none does)."""
        return next(((a, b) for a, b in self.clauses if a <= index < b), (0, len(self.text)))


def read_said(text: str, joints: list[str]) -> Said:
    folded = understand.fold(text)
    return Said(text, folded, clauses(folded, joints))


def clauses(folded: str, joints: list[str]) -> list[tuple[int, int]]:
    """The spans of the clauses of ``folded``: cut at punctuation and at the words that join two
    clauses ("but", "pero"), each without the spaces and punctuation around it; at most
    MAX_CLAUSES, the last one running to the end."""
    joint_words = {understand.trim(j) for j in joints if understand.trim(j)}
    cuts: list[tuple[int, int]] = []  # (start, end) of each separator
    for found in TOKEN.finditer(folded[: linear.MAX_SCAN]):
        token = found.group()
        if token in CLAUSE_MARKS or token in joint_words:
            cuts.append((found.start(), found.end()))
    spans, start = [], 0
    for cut_start, cut_end in [*cuts, (len(folded), len(folded))]:
        span = _trimmed(folded, start, cut_start)
        if span:
            spans.append(span)
        start = cut_end
    if len(spans) > MAX_CLAUSES:
        spans = [*spans[: MAX_CLAUSES - 1], (spans[MAX_CLAUSES - 1][0], spans[-1][1])]
    return spans


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start] in understand.EDGES:
        start += 1
    while end > start and text[end - 1] in understand.EDGES:
        end -= 1
    return (start, end) if start < end else None


def negated(said: Said, start: int, negations: list[str]) -> bool:
    """Whether a negation ("not", "don't", "ya no", "nunca") stands in the few words before
    ``start`` in its own clause: "I don't want to learn git", "no quiero empezar de cero"."""
    clause = said.clause_of(start)
    before = said.folded[clause[0] : start].replace("'", "").replace("’", "")
    words = understand.words(before)
    marks = {understand.trim(n).replace("'", "") for n in negations}
    if words and words[0] in marks and is_question(said, clause):
        words = words[1:]  # "¿no tiene un video?", "don't you have a video?": asked, not denied
    return any(w in marks for w in words[-NEGATION_REACH:])


def supposed(said: Said, start: int, conditionals: list[str]) -> bool:
    """Whether the act at ``start`` is only supposed ("if I mark it done, can I undo it?", "what
    if I skip it"): a word of condition in the few words before it, in its own clause."""
    clause = said.clause_of(start)
    words = understand.words(said.folded[clause[0] : start])
    return any(w in understand.trimmed(conditionals) for w in words[-NEGATION_REACH:])


def is_question(said: Said, clause: tuple[int, int] | None = None) -> bool:
    """A question, by its marks: "¿...?" or "...?"."""
    start, end = clause or (0, len(said.text))
    body = said.text[start:end].strip()
    tail = said.text[end : end + 2]
    return body.startswith("¿") or body.endswith("?") or tail.lstrip().startswith("?")


def opens_with(folded: str, phrases: list[str]) -> str:
    """The longest of ``phrases`` the folded text starts with, as whole words; "" when none."""
    said = folded.lstrip(understand.EDGES + "¿¡")
    best = ""
    for bare in _bare_phrases(tuple(phrases)):
        if len(bare) > len(best) and said.startswith(bare) and not said[len(bare) : len(bare) + 1].isalnum():
            best = bare
    return best


@functools.lru_cache(maxsize=64)
def _bare_phrases(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t for t in dict.fromkeys(understand.trim(p) for p in phrases) if t)


def respell(text: str, meanings: dict, known: Callable[[str], bool]) -> str:
    """``text`` with the words people type for others put back ("q" -> "que", "kiero" ->
    "quiero", "avanzadísimo" -> "avanzado"): the ``spelled_<word>`` meanings of the locale, and
    a superlative or a "k" for "qu" when what it gives is a word the bot knows (``known``,
    asked only then: what it knows is gathered the first time)."""
    table = {
        understand.trim(typed): key.removeprefix("spelled_")
        for key, phrases in meanings.items()
        if key.startswith("spelled_")
        for typed in phrases
    }
    folded = understand.fold(text)
    out, last = [], 0
    for found in understand.LETTERS.finditer(folded[: linear.MAX_SCAN]):
        word, start, end = found.group(), found.start(), found.end()
        edges = folded[start - 1 : start] + folded[end : end + 1]
        if any(c in "'’" or c.isdigit() for c in edges):
            continue  # a piece of "I'd", "don't", "3x": not a word of its own
        fixed = table.get(word) or _regular(word, known)
        if fixed and fixed != word:
            out.append(text[last:start] + fixed)
            last = end
    return "".join(out) + text[last:] if out else text


def _regular(word: str, known: Callable[[str], bool]) -> str:
    """A word typed in a regular way of its own: stretched ("holaaa", "siii", "pleaseee"), a
    superlative ("avanzadísimo" for "avanzado"), a "k" for "qu" ("kiero"); "" when that gives no
    word the bot knows (or the word is one already)."""
    plain = word
    for ending in SUPERLATIVE:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            plain = word[: -len(ending)] + ending.replace("isim", "")
            break
    if "k" in plain:
        plain = plain.replace("ke", "que").replace("ki", "qui")
    tries = [plain] if plain != word else []
    if any(word[n] == word[n + 1] == word[n + 2] for n in range(len(word) - 2)):
        tries += [_squeezed(word, 1), _squeezed(word, 2)]
    if not tries or known(word):
        return ""
    return next((t for t in tries if known(t)), "")


def _squeezed(word: str, most: int) -> str:
    """``word`` with no letter more than ``most`` times in a row ("holaaa" -> "hola")."""
    out: list[str] = []
    for char in word:
        if len(out) >= most and all(c == char for c in out[-most:]):
            continue
        out.append(char)
    return "".join(out)


def cued(folded: str, meanings: dict) -> list[str]:
    """The intents the message gives some sign of by its words alone (the ``cue_<intent>``
    meanings: stems, "recuerd" for every form of "recordar"), the most signs first; for a question
    with the likely acts as buttons when nothing reads it, never for acting."""
    cues = _cue_index(tuple((k, tuple(v)) for k, v in meanings.items() if k.startswith("cue_")))
    said = understand.words(folded)
    text = " ".join(said)
    counts: dict[str, int] = {}
    at = 0
    for word in said:
        for cue, intent in cues.get(word[:CUE_KEY], ()):
            if text.startswith(cue, at):  # a word, or words, starting with the cue
                counts[intent] = counts.get(intent, 0) + 1
        at += len(word) + 1
    return sorted(counts, key=lambda intent: -counts[intent])  # ties: in the order said


CUE_KEY = 2  # letters a cue and a word are looked up by


@functools.lru_cache(maxsize=8)
def _cue_index(table: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, tuple[tuple[str, str], ...]]:
    index: dict[str, list[tuple[str, str]]] = {}
    for key, phrases in table:
        for phrase in phrases:
            cue = " ".join(understand.words(understand.fold(phrase))) or understand.trim(phrase)
            if cue:
                index.setdefault(cue[:CUE_KEY], []).append((cue, key.removeprefix("cue_")))
    return {k: tuple(v) for k, v in index.items()}


def after_correction(text: str, corrections: list[str]) -> str:
    """What ``text`` says after the last time it takes back what came before ("five hours a week,
    no wait, four": "four"; "sí... no, espera, déjalo así": "déjalo así"; "yes... actually no,
    I'll check in myself": "no, I'll check in myself"); the whole text when it takes nothing back,
    or nothing is said after, or nothing before."""
    folded = understand.fold(text[: linear.MAX_SCAN])
    found = [(m.start(), m.end()) for m in understand.WORD.finditer(folded)]
    said = [folded[a:b] for a, b in found]
    cut = 0
    for phrase in corrections:
        marker = understand.words(understand.fold(phrase))
        n = len(marker)
        for i in range(1, len(said) - n + 1):  # something said before it
            if said[i : i + n] == marker and (i + n < len(said) or marker[-1] == "no"):  # and something after
                # "actually no, I'll check in myself": its "no" is the answer, kept
                cut = max(cut, found[i + n - 1][0 if marker[-1] == "no" else 1])
    return text[cut:].lstrip(" ,.;:!?…-") if cut else text
