"""skills.json: the conversation as data, loaded (loader.py) and looked things up in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatbot.engine import linear, understand
from chatbot.engine.skills_check import LIMITS, SkillsError, fill, utf16_len

__all__ = ["LIMITS", "Skills", "SkillsError", "utf16_len"]
STEMMERS = {"en": "english", "es": "spanish", "pt": "portuguese", "fr": "french", "de": "german", "it": "italian"}


MAX_PAYLOADS_KEPT = 4096  # payloads whose reading match_payload() keeps
MAX_NARROWED = 32  # regexes a pattern naming a skill keeps, one per set of names said with it
UNREAD: tuple[str, dict] = ("", {})  # match_payload(): a payload not read yet (None is a payload that reads as nothing)


@dataclass
class Skills:
    data: dict
    actions: dict[str, Callable] = field(default_factory=dict)
    payload_intents: list[tuple[Pattern, str]] = field(default_factory=list)
    command_intents: dict[str, str] = field(default_factory=dict)
    text_intents: dict[str, list[tuple[Pattern, str, tuple]]] = field(default_factory=dict)
    aliases: dict[tuple[str, str], list[tuple[Pattern, str]]] = field(default_factory=dict)
    entities: dict[str, dict[str, str]] = field(default_factory=dict)  # {"skill": {folded name: id}}
    finders: dict[str, tuple[str, ...]] = field(default_factory=dict)  # each entity's names: is one in the text?
    names: list[str] = field(default_factory=list)  # one-word names, for correcting near misses
    name_words: list[str] = field(default_factory=list)  # the longer words of names of several words, the same
    merged: dict[tuple[str, str], dict] = field(default_factory=dict)  # words(), once per locale and part
    lexicon: dict[str, frozenset[str]] = field(default_factory=dict)  # each locale's own words (own_words())
    by_words: dict[tuple[str, ...], str] = field(default_factory=dict)  # a skill's name, word by word
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a broad field's name: its skills
    known: understand.Lexicon | None = None  # known_words(), built the first time a typo is looked for
    pattern_sets: dict[str, linear.PatternSet] = field(default_factory=dict)  # _set_of(), per locale
    payloads_read: dict[str, tuple[str, dict] | None] = field(default_factory=dict)  # match_payload(), kept

    @property
    def locales(self) -> list[str]:
        return list(self.data["strings"])

    @property
    def default_locale(self) -> str:
        return self.data["bot"]["default_locale"]

    @property
    def intents(self) -> dict[str, dict]:
        return self.data["intents"]

    @property
    def states(self) -> dict[str, dict]:
        return self.data.get("states", {})

    @property
    def catalog(self) -> list[dict]:
        return self.data["catalog"]

    @property
    def commands(self) -> list[dict]:
        return self.data.get("commands", [])

    def pick_locale(self, wanted: str | None) -> str:
        """``es_ES``, ``es-419`` or ``es`` -> ``es`` when we speak it; else the default."""
        if wanted:
            short = wanted.replace("-", "_").split("_")[0].lower()
            if short in self.data["strings"]:
                return short
        return self.default_locale

    def text(self, key: str, locale: str, /, **fields: Any) -> str:
        strings = self.data["strings"]
        template = strings.get(locale, {}).get(key) or strings[self.default_locale][key]
        return fill(template, fields)

    def skill(self, skill_id: str) -> dict | None:
        return next((s for s in self.catalog if s["id"] == skill_id), None)

    def localized(self, value: dict | str, locale: str) -> str:
        if isinstance(value, str):
            return value
        return value.get(locale) or value[self.default_locale]

    def vocabulary(self, locale: str) -> dict:
        vocabulary = self.data.get("vocabulary", {})
        return vocabulary.get(locale) or vocabulary.get(self.default_locale, {})

    def words(self, locale: str, part: str) -> dict:
        """A part of the vocabulary ("meanings", "durations") in ``locale``, then the default's, then
        every other (people mix languages): phrase lists joined, tables merged with ``locale`` first."""
        if (locale, part) not in self.merged:
            table: dict = {}
            for loc in self._with_fallback(locale):
                for name, words in self.vocabulary(loc).get(part, {}).items():
                    if isinstance(words, dict):
                        table[name] = {**words, **table.get(name, {})}
                    else:
                        table.setdefault(name, []).extend(words)
            self.merged[(locale, part)] = table
        return self.merged[(locale, part)]

    def pick_choice(self, choices: list[dict], locale: str, text: str) -> str:
        return understand.pick_choice(text, choices, self.words(locale, "meanings")) if choices else ""

    def match_payload(self, payload: str) -> tuple[str, dict] | None:
        """The intent a button's payload runs, with its arguments; the buttons on screen are read
        again and again, so what each payload reads is kept (a few thousand at most)."""
        read = self.payloads_read.get(payload, UNREAD)  # one lookup: another thread may clear it meanwhile
        if read is UNREAD:
            if len(self.payloads_read) >= MAX_PAYLOADS_KEPT:
                self.payloads_read.clear()  # payloads typed by hand, or from old buttons: start over
            read = self.payloads_read[payload] = self._read_payload(payload)
        return (read[0], dict(read[1])) if read else None  # a copy: callers fill in arguments

    def _read_payload(self, payload: str) -> tuple[str, dict] | None:
        for pattern, intent in self.payload_intents:
            found = pattern.match(payload)
            if found:
                return intent, found.groupdict()
        return None

    def _with_fallback(self, locale: str) -> list[str]:
        # People mix languages: the user's patterns first, then the default's, then the rest.
        return list(dict.fromkeys([locale, self.default_locale, *self.data["strings"]]))

    def guess_locale(self, text: str) -> str:
        """The language a message is written in, for someone whose language is not known yet: the
        one whose own words it holds most of; the default when no word tells."""
        found, _ = self.language(text)
        return found or self.default_locale

    def language(self, text: str) -> tuple[str, int]:
        """The language of ``text`` by its words ("" when none tells) and how many words more of it
        than of the next: the engine trusts a margin of two, or one from a longer word."""
        folded = understand.fold(text)
        found, margin = understand.language_of(folded, self.own_words())
        if found and margin == 1:
            own = self.own_words()[found]
            if not any(len(w) >= 4 for w in understand.words(folded) if w in own):
                return found, 0  # "si", "ya", "me": too short to say on their own
        return found, margin

    def own_words(self) -> dict[str, frozenset[str]]:
        """Per locale, the words only that locale's strings, patterns and vocabulary use (built
        the first time a message needs it)."""
        if not self.lexicon:
            every = {loc: frozenset(self._words_of(loc)) for loc in self.locales}
            for loc, mine in every.items():
                others = frozenset().union(*(w for o, w in every.items() if o != loc))
                self.lexicon[loc] = mine - others
            self.lexicon["*"] = frozenset().union(*every.values())
        return {loc: words for loc, words in self.lexicon.items() if loc != "*"}

    def known_words(self) -> understand.Lexicon:
        """Every word the bot's own text uses in any language, in any of its forms: never a typo of
        a skill's name."""
        if self.known is None:
            self.own_words()
            languages = [STEMMERS[loc] for loc in self.locales if loc in STEMMERS]
            self.known = understand.Lexicon(self.lexicon["*"] - frozenset(self.names), languages)
        return self.known

    def _words_of(self, locale: str) -> set[str]:
        strings = " ".join(self.data["strings"].get(locale, {}).values())
        found: set[str] = set(understand.words(understand.bare(strings), limit=len(strings)))
        sources = [p for i in self.intents.values() for p in i.get("triggers", {}).get("patterns", {}).get(locale, [])]
        sources += [p for state in self.states.values() for p in state.get("aliases", {}).get(locale, {})]
        said = REGEX_ESCAPE.sub(" ", " ".join(sources).lower())
        found.update(understand.words(said, limit=len(said)))
        vocabulary = self.data.get("vocabulary", {}).get(locale, {})
        for part in vocabulary.values():
            for value in part.values():
                phrases = value if isinstance(value, list) else list(value) if isinstance(value, dict) else []
                said = understand.bare(" ".join(phrases))
                found.update(understand.words(said, limit=len(said)))
        return {w for w in found if len(w) > 1}

    def match_alias(self, state: str | None, locale: str, text: str) -> str | None:
        hit = self.alias_hit(state, locale, text)
        return hit.intent if hit else None

    def alias_hit(self, state: str | None, locale: str, text: str) -> Hit | None:
        """The first alias of ``state`` the text matches: its payload, filled, and where it matched."""
        found = self.alias_hits(state, locale, text, first=True)
        return found[0] if found else None

    def alias_hits(self, state: str | None, locale: str, text: str, first: bool = False) -> list[Hit]:
        """Every payload the aliases of ``state`` read in the text, each with its first match, in
        the order they are tried: "beginner or intermediate" says two answers."""
        folded, text = _lead_off(text)
        hits: dict[str, Hit] = {}
        for loc in self._with_fallback(locale):
            for pattern, target in self.aliases.get((state or "", loc), []):
                found = pattern.search(folded)
                if found:
                    payload = fill(target, self._arguments(found, text))
                    hits.setdefault(payload, Hit(payload, {}, found.start(), found.end(), folded))
                    if first:
                        return list(hits.values())
        return list(hits.values())

    def match_text(
        self, state: str | None, locale: str, text: str, scoped_only: bool = False
    ) -> tuple[str, dict] | None:
        hit = self.text_hit(state, locale, text, scoped_only)
        return (hit.intent, hit.args) if hit else None

    def text_hit(
        self,
        state: str | None,
        locale: str,
        text: str,
        scoped_only: bool = False,
        skip: frozenset[str] = frozenset(),
        correct: bool = True,
        only: frozenset[str] = frozenset(),
    ) -> Hit | None:
        """A text pattern for this state first, then one that applies anywhere (unless ``scoped_only``:
        a state that takes free text), none of the intents in ``skip``. Matched without case or
        accents; a second try with near-miss names corrected ("pyhton"). Captured text comes back as
        written; a captured name, as its id."""
        folded, text = _lead_off(text)
        found = self._search(state, locale, folded, text, scoped_only, skip, only)
        if found is None and correct and self.names:
            fixed = understand.correct(folded, self.names, self.known_words())
            if fixed != folded:
                found = self._search(state, locale, fixed, fixed, scoped_only, skip, only)
                if found:
                    found.corrected = True
        return found

    def named_in(self, folded: str) -> frozenset[str]:
        """The entities (skill) some name of which the text holds: a pattern that needs one can only
        match then, so the others are not even compiled (a cold start's first message) nor run."""
        return frozenset(entity for entity, names in self.finders.items() if any(n in folded for n in names))

    def names_in(self, folded: str) -> dict[str, tuple[str, ...]]:
        """Each entity's names the text holds (as plain substrings)."""
        return {entity: tuple(n for n in names if n in folded) for entity, names in self.finders.items()}

    def skills_named(self, folded: str) -> list[str]:
        """The ids of the skills ``folded`` names, in the order it names them (longest names first)."""
        if not self.by_words:
            for name, skill in self.entities.get("skill", {}).items():
                self.by_words.setdefault(tuple(understand.words(name)), skill)
        said = understand.words(folded)
        longest = max((len(k) for k in self.by_words), default=0)
        found: list[str] = []
        i = 0
        while i < len(said):
            for n in range(min(longest, len(said) - i), 0, -1):
                named = self.by_words.get(tuple(said[i : i + n]))
                if named:
                    found.append(named)
                    i += n - 1
                    break
            i += 1
        return list(dict.fromkeys(found))

    def text_hits(
        self, state: str | None, locale: str, text: str, scoped_only: bool = False, skip: frozenset[str] = frozenset()
    ) -> list[Hit]:
        """Every intent whose patterns the text matches as typed, each with its first match, in the
        order ``text_hit`` tries them: what else a message says beside what it is read as."""
        folded, text = _lead_off(text)
        return self._search_all(state, locale, folded, text, scoped_only, skip)

    def _search(
        self, state, locale, folded: str, original: str, scoped_only: bool, skip=frozenset(), only=frozenset()
    ) -> Hit | None:
        found = self._search_all(state, locale, folded, original, scoped_only, skip, only, first=True)
        return found[0] if found else None

    def _search_all(
        self,
        state,
        locale,
        folded: str,
        original: str,
        scoped_only: bool,
        skip=frozenset(),
        only=frozenset(),
        first: bool = False,
    ) -> list[Hit]:
        locales = self._with_fallback(locale)
        candidates = [(c, n, loc) for loc in locales for n, c in enumerate(self.text_intents.get(loc, []))]
        matching = {loc: self._set_of(loc).matching(folded) for loc in locales}  # one pass for all
        present = self.names_in(folded)
        named = frozenset(entity for entity, names in present.items() if names)
        hits: dict[str, Hit] = {}
        for scoped in (True, False) if not scoped_only else (True,):
            for (pattern, intent, in_states), n, loc in candidates:
                if bool(in_states) != scoped or (scoped and state not in in_states) or not pattern.needs <= named:
                    continue
                if intent in skip or intent in hits or (only and intent not in only):
                    continue
                said = matching[loc]
                if said is not None and not pattern.needs and n not in said:
                    continue  # the set says this pattern does not match
                found = pattern.search(folded, present)
                if found:
                    hits[intent] = Hit(intent, self._arguments(found, original), found.start(), found.end(), folded)
                    if first:
                        return list(hits.values())
        return list(hits.values())

    def _set_of(self, locale: str) -> linear.PatternSet:
        """The locale's text patterns that name no entity, as one set, built on first use (the
        patterns naming a skill are searched on their own, only when a skill's name is said)."""
        if locale not in self.pattern_sets:
            patterns = self.text_intents.get(locale, [])
            # A pattern that names an entity is never in the set: a never-matching stand-in keeps
            # the indexes in step with text_intents.
            sources = [p.source if not p.needs else r"\A\z\A" for p, _, _ in patterns]
            self.pattern_sets[locale] = linear.PatternSet(sources)
        return self.pattern_sets[locale]

    def _arguments(self, found: linear.Found, original: str) -> dict:
        args = {}
        for name, value in found.groupdict().items():
            if value is None:
                continue
            if name in self.entities:
                args[name] = self.entities[name].get(understand.trim(value), value)
            else:
                args[name] = original[found.start(name) : found.end(name)].strip()
        return args


@dataclass
class Hit:
    """What a pattern or an alias made of a message: the intent (or payload), its arguments, and
    the span it matched in the folded text (a match of the whole message is surer than of a word)."""

    intent: str
    args: dict
    start: int
    end: int
    folded: str
    corrected: bool = False  # found only once a near-miss name was corrected
    offset: int | None = None  # where the searched text starts in the message, when not a suffix of it

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.end >= len(self.folded.rstrip(understand.EDGES))

    @property
    def span(self) -> int:
        return self.end - self.start


# What in a pattern is not a word of its language: escapes (\\b, \\d), group openers, {fields}.
# Run on skills.json's own patterns (not on what people type), many matches a text: Python's re.
REGEX_ESCAPE = re.compile(r"\\[a-zA-Z]|\(\?(?:P<[a-z_]+>|<[=!]|[:!=])|\{[a-z_]+\}|[^a-z ]")


def _lead_off(text: str) -> tuple[str, str]:
    """The folded text and the text as written, both without what opens the message ("¿", quotes)."""
    folded = understand.fold(text)
    lead = len(folded) - len(folded.lstrip(understand.OPENERS))  # "¿qué sigue?" reads as "qué sigue?"
    return folded[lead:], text[lead:]


class Pattern:
    """A skills.json pattern, compiled (by RE2, linear in the text) the first time it is used: a
    cold start's first message needs a handful of the hundreds there are. ``needs``: the entities
    it names, one of whose names a text must hold for it to match."""

    __slots__ = ("source", "ignore_case", "needs", "template", "_compiled", "_narrowed")

    def __init__(
        self, source: str, ignore_case: bool = True, needs: frozenset[str] = frozenset(), template: str = ""
    ) -> None:
        self.source, self.ignore_case, self.needs = source, ignore_case, needs
        self.template = template  # the pattern as written, "{skill}" and all, when it names an entity
        self._compiled: linear.Pattern | None = None
        self._narrowed: dict[tuple, linear.Pattern] = {}

    def compiled(self) -> linear.Pattern:
        if self._compiled is None:
            self._compiled = linear.compile(self.source, self.ignore_case)
        return self._compiled

    def search(self, text: str, present: dict[str, tuple[str, ...]] | None = None) -> linear.Found | None:
        """The first match in ``text``; with ``present`` (each entity's names the text holds), a
        pattern naming an entity is run with those names only: the same matches, since a name
        matches only where the text holds it, from a far smaller regex than all the catalog's names."""
        if not self.template or present is None:
            return self.compiled().search(text)
        key = tuple(present.get(entity, ()) for entity in sorted(self.needs))
        narrowed = self._narrowed.get(key)  # one lookup: the threads of a worker share the patterns
        if narrowed is None:
            if len(self._narrowed) >= MAX_NARROWED:
                self._narrowed.clear()
            source = self.template
            for entity in self.needs:
                source = source.replace(
                    "{" + entity + "}", f"(?P<{entity}>{understand.alternation(list(present[entity]))})"
                )
            narrowed = self._narrowed[key] = linear.compile(source, self.ignore_case)
        return narrowed.search(text)

    def match(self, text: str) -> linear.Found | None:
        return self.compiled().match(text)
