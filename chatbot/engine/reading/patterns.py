"""Readings from skills.json's patterns and names alone: what the patterns find in a message, a skill's
name said in passing, a button's payload, and the question that asks which act was meant."""

from __future__ import annotations

from chatbot.engine import time_words, understand
from chatbot.engine.reading.kinds import (
    CLARIFY,
    LAST_RESORT,
    MAX_OFFERS,
    Reading,
)
from chatbot.engine.skills import Hit, Skills


def patterns(skills: Skills, state: str, locale: str, text: str, core: str, capture: bool, bare: str = "") -> list[Hit]:
    """Every intent the patterns read in the message (then in it without its openers, then without
    the courtesy it ends with: ``bare``), the first what it is read as; with near-miss names
    corrected only when nothing matched as typed, or when what matched took a name for a topic
    ("learn javascrip")."""
    skip = frozenset({LAST_RESORT})
    found: dict[str, Hit] = {}
    for said in dict.fromkeys([text, core]):
        for hit in skills.text_hits(state, locale, said, capture, skip=skip):
            found.setdefault(hit.intent, hit)
    if bare and bare != core:  # a prefix of the core: where it starts in the message is said
        start = len(understand.fold(text)) - len(understand.fold(core).lstrip(understand.OPENERS))
        for hit in skills.text_hits(state, locale, bare, capture, skip=skip):
            hit.offset = start
            found.setdefault(hit.intent, hit)
    hits = list(found.values())
    if not hits:  # numbers said in words: "only one hour a week now", "remind me at seven"
        digits = time_words.with_digits(text, locale)
        if digits != understand.fold(text):
            hits = skills.text_hits(state, locale, digits, capture, skip=skip)
    if hits and not hits[0].args.get("topic"):
        return hits
    for said in dict.fromkeys([text, core]):
        folded = understand.fold(said)
        names = [*skills.names, *skills.name_words]  # "machien lerning": machine learning
        corrected = understand.correct(folded, names, skills.known_words()) if names else folded
        if corrected == folded:
            continue
        fixed = skills.text_hit(state, locale, corrected, capture, skip=skip, correct=False)
        if fixed and (not hits or fixed.args.get("skill")):
            fixed.corrected = True
            return [fixed, *hits]
    return hits


def mention(skills: Skills, state: str, locale: str, text: str, core: str) -> Reading | None:
    """A skill's name, said with nothing that says what to do with it: picked when it is the whole
    message ("java", "the design one"), otherwise asked about (java the coffee, "excel at")."""
    for said in dict.fromkeys([core, text]):
        hit = skills.text_hit(state, locale, said, only=frozenset({LAST_RESORT}))
        if hit is None:
            continue
        if hit.whole and not hit.corrected:
            return Reading(hit.intent, hit.args)
        named = skills.skills_named(understand.fold(said))
        return ask(skills, [f"PICK:{skill}" for skill in named[:MAX_OFFERS]] or [f"PICK:{hit.args.get('skill')}"])
    return None


def ask(skills: Skills, offers: list[str]) -> Reading:
    offers = [o for o in dict.fromkeys(offers) if o and skills.match_payload(o)]
    if not offers:
        return Reading(skills.data["bot"]["fallback"], sure=False)
    return Reading(CLARIFY, {"offers": offers[:MAX_OFFERS]}, sure=False)


def payload_reading(skills: Skills, payload: str) -> Reading:
    found = skills.match_payload(payload)
    return Reading(*found, payload=payload) if found else Reading(skills.data["bot"]["fallback"], sure=False)


def payload_for(skills: Skills, intent: str, args: dict) -> str:
    """The button payload that runs ``intent`` with ``args`` ("" when no template fits them): the
    template that uses the most of them."""
    best, used = "", -1
    for template in skills.intents.get(intent, {}).get("triggers", {}).get("payloads", []):
        filled = template
        for name, value in args.items():
            filled = filled.replace("{" + name + "}", str(value))
        if "{" not in filled and template.count("{") > used:
            best, used = filled, template.count("{")
    return best
