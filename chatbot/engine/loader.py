"""skills.json read into ``Skills``: checked (skills_check.py) unless a stamp says these rules passed it
already, its patterns compiled lazily with each entity's names, and the names of skills, levels,
languages and broad fields gathered for the reader."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from chatbot.engine import understand
from chatbot.engine.skills import Pattern, Skills
from chatbot.engine.skills_check import SkillsError, payload_regex, validate

LEVEL_NAMES = ["beginner", "intermediate", "advanced"]  # the values a {level} in a pattern stands for


def load(path: str, actions: dict[str, Callable] | None = None, checks: tuple = ()) -> Skills:
    """The skills of ``path``, checked. A file checked before by the same rules (its stamp, written
    beside it when the image is built or the first time it loads here, matches) is not checked
    again: the check compiles every pattern, which is most of a cold start's own work."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SkillsError([f"{path}: not valid JSON: {error}"]) from error
    actions = actions or {}
    digest = stamp_of(raw, actions, checks)
    stamp = Path(path + ".checked")
    checked = stamp.is_file() and stamp.read_text(encoding="ascii", errors="replace").strip() == digest
    skills = build(data, actions, checks, checked=checked)
    if not checked:
        with contextlib.suppress(OSError):  # a read-only image without a stamp checks at every start
            stamp.write_text(digest + "\n", encoding="ascii")
    return skills


def stamp_of(raw: bytes, actions: dict[str, Callable], checks: tuple) -> str:
    """What a check depends on: the file, the checking code, the action names and the bot's own rules."""
    digest = hashlib.sha256(raw)
    for name in sorted({__name__, Skills.__module__, validate.__module__, *(check.__module__ for check in checks)}):
        digest.update(Path(sys.modules[name].__file__ or "").read_bytes())
    digest.update("\n".join(sorted(actions)).encode())
    return digest.hexdigest()


def build(data: dict, actions: dict[str, Callable], checks: tuple = (), checked: bool = False) -> Skills:
    errors = [] if checked else validate(data, actions, checks)
    if errors:
        raise SkillsError(errors)
    entities = {"skill": skill_names(data), "lang": named_in_meanings(data, "lang", list(data.get("strings", {})))}
    entities["level"] = named_in_meanings(data, "level", LEVEL_NAMES)
    skills = Skills(data=data, actions=actions, entities=entities, fields=field_names(data))
    one_word = [name for table in skills.entities.values() for name in table if " " not in name]
    # The longer words of names said in several ("lerning" is a slip of machine learning's, "speeking"
    # of public speaking's): corrected the same way, so the whole name is found.
    inner = {
        w for table in skills.entities.values() for name in table if " " in name for w in name.split() if len(w) >= 5
    }
    skills.names = one_word
    skills.name_words = sorted(inner - set(one_word))
    names = {entity: understand.alternation(list(table)) for entity, table in skills.entities.items()}
    # Plain substring tests: the names as one regex took longer to compile than the rest of a first message.
    skills.finders = {entity: tuple(sorted({n for n in table if n})) for entity, table in skills.entities.items()}

    def expand(pattern: str) -> Pattern:
        needs = frozenset(entity for entity in names if "{" + entity + "}" in pattern)
        template = pattern if needs else ""
        for entity in needs:  # each entity's alternation, built once for every pattern that names it
            pattern = pattern.replace("{" + entity + "}", f"(?P<{entity}>{names[entity]})")
        return Pattern(pattern, needs=needs, template=template)

    for name, intent in data["intents"].items():
        triggers = intent.get("triggers", {})
        for template in triggers.get("payloads", []):
            skills.payload_intents.append((Pattern(payload_regex(template), ignore_case=False), name))
        for command in triggers.get("commands", []):
            skills.command_intents[command] = name
        in_states = tuple(triggers.get("in_states", ()))
        for locale, patterns in triggers.get("patterns", {}).items():
            for pattern in patterns:
                skills.text_intents.setdefault(locale, []).append((expand(pattern), name, in_states))
    for state_name, state in data.get("states", {}).items():
        for locale, table in state.get("aliases", {}).items():
            skills.aliases[(state_name, locale)] = [(expand(pattern), target) for pattern, target in table.items()]
    return skills


def named_in_meanings(data: dict, entity: str, values: list[str]) -> dict[str, str]:
    """The words for each value of ``entity`` ("spanish", "castellano" for the language es;
    "principiante" for the level beginner), folded, to the value: the vocabulary's
    ``<entity>_<value>`` meanings in every locale. A pattern names them as ``{entity}``."""
    names: dict[str, str] = {}
    for value in values:
        for table in data.get("vocabulary", {}).values():
            for phrase in table.get("meanings", {}).get(f"{entity}_{value}", []):
                names.setdefault(understand.trim(phrase), value)
    return names


def skill_names(data: dict) -> dict[str, str]:
    """Every way skills.json names a skill (its titles, its synonyms), folded, to its id. Not its
    id: an id is a payload's word ("algo" is Spanish for "something", not Algorithms)."""
    names: dict[str, str] = {}
    for skill in data.get("catalog", []):
        phrases = [*skill["title"].values()]
        phrases += [p for words in skill.get("synonyms", {}).values() for p in words]
        for phrase in phrases:
            names.setdefault(understand.trim(phrase), skill["id"])
    for phrase in field_names(data):  # a field's name reads as its first skill until asked which
        names.setdefault(phrase, field_names(data)[phrase][0])
    return names


def field_names(data: dict) -> dict[str, tuple[str, ...]]:
    """Every broad field's name ("programming", "ciencia de datos"), folded, to the skills in it."""
    fields: dict[str, tuple[str, ...]] = {}
    for skill in data.get("catalog", []):
        for phrase in (p for words in skill.get("fields", {}).values() for p in words):
            key = understand.trim(phrase)
            fields[key] = (*fields.get(key, ()), skill["id"])
    return fields
