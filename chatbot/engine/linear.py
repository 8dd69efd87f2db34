"""Patterns run on text from outside, in linear time: RE2 (google-re2), never a backtracking engine.

Python's ``re`` backtracks: one crafted message (4,096 '@' against ``\\S+@\\S+\\.\\S+``) can take
seconds of CPU. RE2 matches in time linear in the text, whatever the pattern, and refuses what
it cannot do so (backreferences, lookarounds): a pattern of skills.json that RE2 refuses fails the
skills check. Every path that applies a pattern to what a person sent goes through here, and
scans at most ``MAX_SCAN`` characters of it.
"""

from __future__ import annotations

import re
from typing import Any

import re2

MAX_SCAN = 1000  # characters of a message any pattern looks at (the engine keeps the first 1000)

_OPTIONS: dict[bool, Any] = {}


def _options(ignore_case: bool) -> Any:
    if ignore_case not in _OPTIONS:
        options = re2.Options()
        options.case_sensitive = not ignore_case
        options.log_errors = False  # a refused pattern is reported by the skills check, not on stderr
        _OPTIONS[ignore_case] = options
    return _OPTIONS[ignore_case]


class Error(ValueError):
    """A pattern RE2 cannot run (or cannot run in linear time)."""


class Found:
    """A match: its text, groups by name, and where each group is in the searched text."""

    __slots__ = ("_match", "_names")

    def __init__(self, match: Any, names: dict[str, int]) -> None:
        self._match, self._names = match, names

    def group(self, name: int | str = 0) -> str | None:
        return self._match.group(self._index(name))

    def groupdict(self) -> dict[str, str | None]:
        return self._match.groupdict()

    def start(self, name: int | str = 0) -> int:
        return self._match.start(self._index(name))

    def end(self, name: int | str = 0) -> int:
        return self._match.end(self._index(name))

    def _index(self, name: int | str) -> int:
        return self._names[name] if isinstance(name, str) else name


class Pattern:
    """One compiled pattern; ``search``, ``match`` and ``fullmatch`` as ``re`` has them."""

    __slots__ = ("source", "_regexp")

    def __init__(self, source: str, ignore_case: bool = True) -> None:
        self.source = source
        try:
            self._regexp = re2.compile(source, _options(ignore_case))
        except re2.error as error:
            raise Error(f"{source!r}: {_reason(error)}") from None

    def search(self, text: str) -> Found | None:
        return self._wrap(self._regexp.search(text[:MAX_SCAN]))

    def match(self, text: str) -> Found | None:
        return self._wrap(self._regexp.match(text[:MAX_SCAN]))

    def fullmatch(self, text: str) -> Found | None:
        return self._wrap(self._regexp.fullmatch(text[:MAX_SCAN]))

    def finditer(self, text: str) -> list[Found]:
        return [Found(m, self._regexp.groupindex) for m in self._regexp.finditer(text[:MAX_SCAN])]

    def sub(self, replacement: Any, text: str) -> str:
        return self._regexp.sub(replacement, text[:MAX_SCAN])

    def _wrap(self, match: Any) -> Found | None:
        return Found(match, self._regexp.groupindex) if match is not None else None


class PatternSet:
    """Many patterns searched in one pass (RE2's Set): which of them the text matches.

    A message is read against the hundreds of patterns of skills.json: one pass over it for all
    of them, then only the few that match are run on their own for where and what they matched.
    ``matching`` answers None when it cannot tell: RE2 gives up on a set when its DFA runs out of
    memory, which looks like no match; a text longer than ``SURE_WITHIN`` that matches nothing is
    then searched pattern by pattern, as it would be without the set."""

    MAX_MEM = 8 << 20  # bytes for the set's DFA: a ceiling, used as texts need it
    SURE_WITHIN = 200  # characters a text may have for "matches nothing" to be taken as said

    __slots__ = ("_set",)

    def __init__(self, sources: list[str]) -> None:
        options = re2.Options()
        options.case_sensitive = False
        options.log_errors = False
        options.max_mem = self.MAX_MEM
        self._set = re2.Set.SearchSet(options)
        for source in sources:
            try:
                self._set.Add(source)
            except re2.error as error:
                raise Error(f"{source!r}: {_reason(error)}") from None
        self._set.Compile()

    def matching(self, text: str) -> frozenset[int] | None:
        """The indexes (in the order added) of the patterns ``text`` matches, or None when unsure."""
        scanned = text[:MAX_SCAN]
        found = self._set.Match(scanned)
        if found is None:
            return frozenset() if len(scanned) <= self.SURE_WITHIN else None
        return frozenset(found)


def compile(source: str, ignore_case: bool = True) -> Pattern:  # noqa: A001 - the name re and re2 use
    return Pattern(source, ignore_case)


def check(source: str) -> str:
    """Why RE2 refuses ``source`` ("" when it runs it): for the skills check."""
    try:
        re2.compile(source, _options(True))
    except re2.error as error:
        return _reason(error)
    return ""


def _reason(error: Exception) -> str:
    reason = error.args[0] if error.args else error
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)


escape = re2.escape


def scanner(source: str) -> re.Pattern:
    """A tokenizer run over a whole text many matches at a time (words, numbers): RE2's Python
    binding costs microseconds a match, so these use ``re``, and are linear by construction: each
    alternative is one character class, repeated (``+``) or bounded (``{1,9}``), never nested, so
    no character is looked at more than a bounded number of times. ``SCANNER_SHAPE`` checks it."""
    if not SCANNER_SHAPE.fullmatch(source):
        raise Error(f"{source!r}: a scanner is alternatives of single character classes")
    return re.compile(source)


# Alternatives, each either one character class repeated (``[a-z]+``: a maximal run, nothing after
# it to backtrack for) or character classes each bounded (``\d{1,9}(?:[.,]\d{1,6})?``).
_ONE = r"(?:\\[dwsDWS]|\[\^?(?:[^\]\\]|\\.)+\])"
_BOUNDED = rf"{_ONE}(?:\{{\d+,\d+\}})?"
_ALTERNATIVE = rf"(?:{_ONE}\+|(?:{_BOUNDED})+(?:\(\?:(?:{_BOUNDED})+\)\?)?)"
SCANNER_SHAPE = re.compile(rf"{_ALTERNATIVE}(?:\|{_ALTERNATIVE})*")
