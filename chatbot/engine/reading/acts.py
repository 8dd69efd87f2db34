"""Weighing what the patterns found: negations and their opposites, the widest match first, other acts
the message says beside it, and whether one is sure enough to act on."""

from __future__ import annotations

from chatbot.engine import phrasing, understand
from chatbot.engine.reading.clauses import Clauses
from chatbot.engine.reading.kinds import (
    ACTS,
    CHANGES,
    GENERIC,
    LANGUAGE,
    MAX_OFFERS,
    NAMES_A_SKILL,
    NEGATABLE,
    ON_A_SKILL,
    ON_A_STEP,
    OPPOSITE,
    PICKS,
    TOGETHER,
    UNDER_WAY,
    Reading,
)
from chatbot.engine.reading.patterns import ask, payload_reading
from chatbot.engine.skills import Hit


class Acts(Clauses):
    """Weighing what the patterns found: negations and their opposites, the widest match first, other acts"""

    def pattern_reading(self, hit: Hit, hits: list[Hit], prefix: str, prefix_end: int) -> Reading:
        """The first pattern's reading, weighed: a clause that reads otherwise as a whole, other
        acts said beside it, the short answer the message opens with, the button on screen that
        is the same act, a name found only once corrected."""
        start = self.absolute(hit)
        if hit.intent in ON_A_STEP and hit.whole and self.off_screen(hit):
            # "done" at "Drop Git?": no step is on screen; the step, or the question's answers?
            return ask(self.skills, [self.payload_of(hit.intent, hit.args), *self.yes_and_no()])
        if hit.intent in CHANGES and phrasing.supposed(self.said, start, self.meanings.get("conditional", [])):
            return ask(self.skills, [self.payload_of(hit.intent, hit.args)])  # "if I mark it done, can I undo it?"
        if hit.intent in CHANGES and self.never_mind_beside(start):
            # "ahorita no tengo tiempo, olvídalo": a reason and a never mind, or a change? Asked.
            return ask(self.skills, [self.payload_of(hit.intent, hit.args)])
        # A pattern that reads the whole message ("no, quiero sql") is not overruled by one clause.
        explained = None if hit.whole else self.explained(start, hit.intent)
        if explained is not None and prefix and explained.payload and explained.payload != prefix:
            # "yeah drop it, no time for it": two answers to the question on screen, which?
            return ask(self.skills, [prefix, explained.payload])
        if explained is not None:
            return explained
        others = self.other_acts(hit, hits)
        if others:
            return ask(self.skills, [self.payload_of(h.intent, h.args) for h in [hit, *others]])
        if prefix:
            if start + hit.span <= prefix_end:
                return self.short_answer(prefix)  # "dale, mándale": the answer, not "dale" as "go on"
            opens_rest = start == len(self.text) - len(self.core)  # "ok, whats next": a request
            if start >= prefix_end and opens_rest and hit.intent in ON_A_SKILL | ON_A_STEP:
                # a change to the skill after the answer ("no, bájale a 2 horas": kept at a new
                # pace, or only kept?): which, with the hours it says
                change = (hit.intent == "change_pace" and self.pace_said()) or self.payload_of(hit.intent, hit.args)
                return ask(self.skills, [change, prefix])
            if start >= prefix_end and not opens_rest:  # said inside what follows the answer: which?
                return ask(self.skills, [prefix, self.payload_of(hit.intent, hit.args)])
        same = self.same_choice(hit)
        if same:
            return payload_reading(self.skills, same)
        if hit.intent in GENERIC and self.state.get("on_text") and self.asks_advice():
            return Reading(self.state["on_text"], {"text": self.text})  # "¿tú qué me recomiendas?": its answer
        if hit.intent in GENERIC and self.state.get("on_text") and not self.is_request():
            return ask(self.skills, [self.payload_of(hit.intent, hit.args)])  # "he hecho cursos" answers, maybe
        named_too = self.skills.skills_named(self.said.folded) if hit.intent in LANGUAGE else []
        if named_too:  # "inglés": to learn it, or to be spoken to in it?
            return ask(self.skills, [self.payload_of(hit.intent, hit.args), *(f"PICK:{k}" for k in named_too)])
        also = [k for k in self.skills.skills_named(self.said.folded) if k != hit.args.get("skill")]
        if hit.intent in PICKS and also:  # "quiero aprender a programar páginas web": which one?
            return ask(self.skills, [f"PICK:{hit.args.get('skill')}", *(f"PICK:{k}" for k in also)])
        named = self.skills_beside(hit, start) if hit.intent in GENERIC else []
        if named or (hit.intent in GENERIC and not self.clear(hit, start)):
            # "I'm terrified of speaking in front of people, can you help me with that"; "help"
            # deep in a long message about something else: asked, with what it may be about.
            return ask(self.skills, [*(f"PICK:{skill}" for skill in named), self.payload_of(hit.intent, hit.args)])
        if (hit.corrected and hit.intent in CHANGES) or not self.clear(hit, start):
            # An act, or a request that has a button, read from words deep inside a longer message
            # ("I need a cup of java before anything else"): asked. Those with no button (a
            # suggestion, a topic) are taken as read.
            payload = self.payload_of(hit.intent, hit.args)
            if payload or hit.intent in ACTS:
                return ask(self.skills, [payload])
        if hit.intent in NAMES_A_SKILL and not hit.args.get("skill"):
            # "start over", "reset" with no skill named: that skill's, when one is under way.
            if self.conv.progress:
                return ask(self.skills, [self.payload_of(hit.intent, {}), *NAMES_A_SKILL[hit.intent]])
            return payload_reading(self.skills, NAMES_A_SKILL[hit.intent][0])
        learns = any(h.intent == UNDER_WAY.get(hit.intent) for h in hits)
        if learns and str(hit.args.get("skill", "")) not in self.conv.progress:
            return Reading(UNDER_WAY[hit.intent], hit.args)  # "learn python from scratch": a start
        return Reading(hit.intent, hit.args)

    def widest_first(self, hits: list[Hit]) -> list[Hit]:
        """The hits with, first, the one whose words hold the first's and more ("no tengo tiempo
        hoy" is a snooze, not the "no tengo tiempo" of a slower pace), unless it holds them only
        as any words (a suggestion's or a topic's)."""
        if len(hits) < 2 or hits[0].corrected:
            return hits
        spans = [(self.absolute(h), self.absolute(h) + h.span) for h in hits]
        a, b = spans[0]
        free = [bool({"text", "topic"} & set(h.args)) for h in hits]  # wide by nature: any words
        wider = [n for n, (c, d) in enumerate(spans) if n and not free[n] and c <= a and d >= b and d - c > b - a]
        if not wider and hits[0].intent in GENERIC:
            # "could you please add Rust to the list": the list is in the suggestion's words, which
            # the message opens by asking for
            # too; "I wanna learn to play guitar, can you help with that": the help is in the topic's
            opens = len(self.text) - len(self.core)
            wider = [n for n, (c, d) in enumerate(spans) if n and free[n] and c <= opens and d >= b]
            wider = [n for n in wider if "text" in hits[n].args or self.inside_topic(hits[n], a, b)]
        if not wider:
            return hits
        best = max(wider, key=lambda n: spans[n][1] - spans[n][0])
        return [hits[best], *hits[:best], *hits[best + 1 :]]

    def inside_topic(self, hit: Hit, start: int, end: int) -> bool:
        """Whether the words from ``start`` to ``end`` are inside the topic ``hit`` reads."""
        topic = understand.fold(str(hit.args.get("topic") or ""))
        at = self.said.folded.find(topic) if topic else -1
        return at >= 0 and at <= start and end <= at + len(topic)

    def never_mind_beside(self, start: int) -> bool:
        """Whether a clause other than the one holding ``start`` says "never mind" as a whole."""
        if len(self.said.clauses) < 2:
            return False
        own = self.said.clause_of(start)
        for span in self.said.clauses:
            if span != own:
                found = self.clause_reading(span)
                if found is not None and found.intent == "cancel":
                    return True
        return False

    def unnegated(self, hits: list[Hit]) -> tuple[list[Hit], Reading | None]:
        """The hits without the acts a negation stands before ("I don't want to learn git"), and
        what the first of those means instead, asked (None when it means nothing)."""
        negations = self.meanings.get("negation", [])
        kept, opposite = [], None
        for hit in hits:
            if self.taken_back(hit):
                continue  # "skip? nah i'll do it", "too easy but I'll do it anyway": not asked for
            if (hit.intent in NEGATABLE or hit.intent in OPPOSITE) and phrasing.negated(
                self.said, self.absolute(hit), negations
            ):
                if opposite is None:
                    opposite = self.opposite(hit)
                continue
            kept.append(hit)
        return kept, opposite

    def off_screen(self, hit: Hit) -> bool:
        """Whether a yes-or-no question is on screen and no button of the step ``hit`` acts on."""
        on_screen = {(self.skills.match_payload(c.get("payload", "")) or ("",))[0] for c in self.choices}
        return len(self.yes_and_no()) == 2 and not on_screen & ON_A_STEP

    def taken_back(self, hit: Hit) -> bool:
        """Whether the act ``hit`` reads is said, then let go in the same message: asked as a
        question the next clause answers no ("should I stop the reminders? nah keep them"), or an
        act on a step followed by carrying on ("it's hard but I'll keep trying")."""
        return hit.intent in ACTS and self.let_go_at(self.absolute(hit), hit.span, hit.intent)

    def let_go_at(self, start: int, span: int, intent: str) -> bool:
        """Whether what is said from ``start`` (an act, ``intent``) is let go by what follows."""
        clause = self.said.clause_of(start)
        tail = self.said.folded[clause[1] :]
        asked = self.said.folded[clause[0] : clause[1]].rstrip().endswith("?") or tail.lstrip().startswith("?")
        after = tail.lstrip(" ,.;:!?¿¡…-")
        if asked and phrasing.opens_with(after, self.meanings.get("takes_back", [])):
            return True
        rest = self.said.folded[start + span :]
        return intent in ON_A_STEP and understand.says_any(rest, self.meanings.get("carry_on", []))

    def opposite(self, hit: Hit) -> Reading | None:
        meant = OPPOSITE.get(hit.intent)
        skill = str(hit.args.get("skill", ""))
        if meant == "drop_skill" and skill not in self.conv.progress:
            return None
        payload = self.payload_of(meant, hit.args) if meant else ""
        answer = self.answer_on_screen(meant, skill) if meant else ""
        if answer:
            return payload_reading(self.skills, answer)  # "no quiero seguir con git" at "Drop Git?": its yes
        return ask(self.skills, [payload]) if payload else None

    def other_acts(self, hit: Hit, hits: list[Hit]) -> list[Hit]:
        """Other acts the message says beside ``hit`` (neither inside the other's words nor one
        with it): "I'm done with reminders", "I'm stuck at work, remind me tomorrow"."""
        if hit.intent not in ACTS:
            return []
        spans = {h.intent: (self.absolute(h), self.absolute(h) + h.span) for h in hits}
        mine = spans[hit.intent]
        found = []
        for other in hits[1:]:
            there = spans[other.intent]
            inside = (there[0] >= mine[0] and there[1] <= mine[1]) or (mine[0] >= there[0] and mine[1] <= there[1])
            together = any(hit.intent in t and other.intent in t for t in TOGETHER)
            if other.intent in ACTS and other.intent != hit.intent and not inside and not together:
                found.append(other)
        return found[: MAX_OFFERS - 1]
