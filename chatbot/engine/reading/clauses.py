"""Clauses: a message read one clause at a time ("thanks, what's next"), the short answer it opens
with ("yes, drop it"), the greeting or thanks around a request."""

from __future__ import annotations

from chatbot.engine import phrasing, understand
from chatbot.engine.reading.kinds import (
    CHANGES,
    LAST_RESORT,
    NEGATABLE,
    PREFIX_REST,
    SOCIAL,
    Reading,
)
from chatbot.engine.reading.patterns import ask, payload_reading
from chatbot.engine.reading.screen import Screen


class Clauses(Screen):
    """Clauses: a message read one clause at a time ("thanks, what's next"), the short answer it opens"""

    def clause_reading(self, span: tuple[int, int]) -> Reading | None:
        """What one clause of the message reads as, whole: a button, the state's words, a pattern
        that matches all of it, or (a question on screen) a short answer it opens with."""
        text = self.text[span[0] : span[1]]
        found = self.whole(text)
        if found is not None:
            return found
        skip = frozenset({LAST_RESORT})
        core = self.opened(text)
        for said in dict.fromkeys([text, core, self.closed(core)]):
            hit = self.skills.text_hit(self.state_name, self.locale, said, skip=skip, correct=False)
            if hit and hit.whole and self.may(hit):
                start = span[0] + len(text) - len(said) + hit.start
                if hit.intent in NEGATABLE and phrasing.negated(self.said, start, self.meanings.get("negation", [])):
                    return self.keep_reading() if self.asked_by(hit) else None
                return self.topic(hit) or self.same_reading(self.as_answer(hit))
        prefix, _ = self.opening_answer(text)
        if prefix and len(understand.words(understand.fold(self.opened(text)))) <= PREFIX_REST:
            return payload_reading(self.skills, prefix)
        return None

    def explained(self, start: int, intent: str, own_only: bool = False) -> Reading | None:
        """The reading of the clause that holds ``start`` when that clause, as a whole, reads as
        another intent ("speaking of which, what's next": not the skill); with ``own_only``, only
        as a button or the state's own words ("no, nunca, cancela")."""
        if len(self.said.clauses) < 2:
            return None
        span = self.said.clause_of(start)
        found = self.whole(self.text[span[0] : span[1]]) if own_only else self.clause_reading(span)
        if found is None or found.intent == intent or found.intent in SOCIAL:
            return None
        return found

    def clause_choice(self) -> Reading | None:
        """A message of several clauses, one of which reads whole ("speaking of which, what's
        next"): that reading; several different ones, asked; a greeting or thanks only when
        nothing else is said."""
        if len(self.said.clauses) < 2:
            return None
        found = [r for span in self.said.clauses if (r := self.clause_reading(span)) is not None]
        asks = [r for r in found if r.intent not in SOCIAL]
        distinct = list({(r.intent, str(sorted(r.args.items()))): r for r in asks}.values())
        if len(distinct) == 1:
            return distinct[0]
        if distinct:
            return ask(self.skills, [r.payload or self.payload_of(r.intent, r.args) for r in distinct])
        if found:  # a greeting or thanks, and what else is said only gives signs of what it asks
            signs = self.signs()
            if signs:
                return ask(self.skills, signs)
            if self.state and len(found) < len(self.said.clauses):
                return None  # "hello, sorry, I'm not sure what counts as what, but...": the question's
            return found[0]
        return None

    def social_opening(self) -> Reading | None:
        """Nothing understood but a greeting or thanks the message opens with ("hello dear",
        "thank you very much dear"): answered as one."""
        lead = self.text[: len(self.text) - len(self.core)].strip(understand.EDGES)
        if not lead or self.core == self.text or self.state.get("on_text"):
            return None  # a question on screen: "yes sir" is no answer, and no thank-you either
        hit = self.skills.text_hit(self.state_name, self.locale, lead, only=SOCIAL, correct=False)
        if hit is None or not hit.whole or self.signs():
            return None  # "hi, <something the words only give signs of>": asked about, below
        return Reading(hit.intent, hit.args)

    def pace_said(self) -> str:
        """The payload that sets the skill under way to the hours a week the message says, or ""."""
        hours = self.hours_said(bare=True) if self.conv.progress else ""
        return self.payload_of("change_pace", {"hours": hours}) if hours else ""

    def short_answer(self, prefix: str) -> Reading:
        """ "yes, drop it" answers; "ok whats blah blah" may ask something else: asked, not acted on,
        unless what follows the answer only says when ("sí, a las 8 de la mañana")."""
        rest = understand.words(understand.fold(self.opened(self.text)))
        reading = payload_reading(self.skills, prefix)
        if len(rest) <= PREFIX_REST:
            return reading
        refined = self.more(reading)
        if refined.intent != reading.intent:
            return refined
        if reading.intent in CHANGES and phrasing.is_question(self.said):
            return ask(self.skills, [prefix])  # "yes but can I come back later?": a question first
        pace = self.pace_said()
        if pace:  # "no, mejor bájale a 2 horas por semana": keep it at a new pace, or only keep it?
            return ask(self.skills, [pace, prefix])
        clauses = self.clause_choice()  # "déjelo así, no lo borre": every clause says the same
        if clauses is not None and clauses.payload == prefix:
            return reading
        return ask(self.skills, [prefix])
