"""The question on screen and its answers: a button or a short answer typed whole, by its title,
its place ("the second one") or what it means; the state's own words (one answer, or twins that
read two); the button that is the same act as a reading; the question's yes and no."""

from __future__ import annotations

import dataclasses

from chatbot.engine import phrasing, understand
from chatbot.engine.reading.kinds import ASKED_BY, LOSES, Reading
from chatbot.engine.reading.message import Message
from chatbot.engine.reading.patterns import ask, payload_reading
from chatbot.engine.skills import Hit


class Screen(Message):
    """The question on screen and its answers."""

    def placed_choice(self, text: str) -> str:
        """The quick reply ``text`` names by its place, said whole ("the second one": 3–5 h), when
        the quick replies are the list on screen; never a number, which may be an amount ("two")."""
        said = understand.trim(text)
        numbers = understand.trimmed(self.skills.words(self.locale, "durations").get("numbers", {}))
        if said.isdigit() or said in numbers:
            return ""
        pointed = understand.trim(self.pointed(said))  # "la primera opción": "primera"
        named = {said} | ({pointed} if pointed and not pointed.isdigit() and pointed not in numbers else set())
        for choice in self.choices:
            places = choice.get("place", [])
            if any(named & self.bare_meaning(m) for m in places):
                return choice["payload"]
        return ""

    def pointed(self, text: str) -> str:
        """``text`` without the words that point at a choice ("the 1st", "el número dos", "the
        first option"): what is left names it."""
        pointers = self.bare_meaning("pointer")
        kept = [w for w in understand.trim(text).split() if w not in pointers]
        return " ".join(kept) if kept else text

    def whole(self, text: str) -> Reading | None:
        """A button on screen (by its title or a short answer) or the state's own words, as the
        whole of ``text``, or of it past its openers or its pointing words."""
        core = self.opened(text)
        if self.denies(text, core):
            core = text  # "no muy bien" is not "muy bien"; "no, never mind" is "never mind"
        bare = self.closed(core)
        starts = understand.pick_choice(text, self.choices, self.meanings) if self.choices else ""
        variants = list(dict.fromkeys([text, core, bare, self.pointed(bare)]))
        placed = self.placed_choice(text)
        if placed:
            return payload_reading(self.skills, placed)
        if self.choices and understand.trim(text) not in self.bare_meaning("unsure"):  # "no sé": no "no"
            for n, said in enumerate(variants):
                if n and starts:
                    break  # "yes, the second one" starts with an answer: not a choice said whole
                payload = understand.pick_choice(said, self.choices, self.meanings, whole_only=True)
                if payload:
                    return payload_reading(self.skills, payload)
        for said in variants:
            alias = self.skills.alias_hit(self.state_name, self.locale, said)
            if alias and alias.whole:
                twins = self.twins(alias, said)
                return (
                    ask(self.skills, twins)
                    if self.unsure(alias) or len(twins) > 1
                    else payload_reading(self.skills, twins[0])
                )
        return None

    def twins(self, alias: Hit, said: str) -> list[str]:
        """The answers the state's words read in the same words as ``alias`` ("not a beginner":
        Intermediate, or Advanced?), ``alias``'s first."""
        found = self.skills.alias_hits(self.state_name, self.locale, said)
        there = (alias.start, alias.end)
        same = list(dict.fromkeys([alias.intent, *(h.intent for h in found if (h.start, h.end) == there)]))
        if len(same) < 2:
            return same
        words, whole = alias.folded[alias.start : alias.end], self.said.folded  # the message's, not a clause's
        at = whole.find(words)
        rest = whole[:at] + " " * len(words) + whole[at + len(words) :] if at >= 0 else whole
        negations = self.meanings.get("negation", [])
        named: list[str] = []
        denied: list[str] = []
        for h in self.skills.alias_hits(self.state_name, self.locale, rest):
            if h.intent in same:
                no = phrasing.negated(self.said, len(rest) - len(h.folded) + h.start, negations)
                (denied if no else named).append(h.intent)
        left = [answer for answer in same if answer not in denied]  # "but I wouldn't call myself advanced"
        return named[:1] or left or same  # "not a beginner, more like intermediate": the one named

    def unsure(self, alias: Hit) -> bool:
        """Whether the state's words were found in words that say "I don't know" ("ni idea", "no
        idea"): an answer to a question about what one knows, or about the question itself? Asked."""
        unsure = {understand.trim(p) for p in self.meanings.get("unsure", [])}
        found = understand.trim(alias.folded[alias.start : alias.end])
        return any(understand.says(found, phrase) for phrase in unsure)

    def denies(self, text: str, core: str) -> bool:
        """Whether the words that open ``text`` end with a negation said of what follows (no comma
        between): then what follows is not said, it is denied."""
        lead = text[: len(text) - len(core)]
        said = understand.words(understand.fold(lead))
        negations = self.bare_meaning("negation")
        return bool(said) and said[-1] in negations and lead.rstrip()[-1:] not in ",.;:!?"

    def answers_said(self, alias: Hit) -> list[str]:
        """The different answers the state's own words read in the message, apart from each other
        (words inside another answer's, "beginner" in "not a beginner", are not one)."""
        text = self.text if alias.folded == understand.fold(self.text).lstrip(understand.OPENERS) else self.core
        found = self.skills.alias_hits(self.state_name, self.locale, text)
        apart = [
            h
            for h in found
            if not any(o is not h and o.start <= h.start and h.end <= o.end and o.span > h.span for o in found)
        ]
        # Words an earlier answer's negation denies ("never used it": "used it" is not said) are not one.
        negations = self.bare_meaning("negation")
        said = [h for h in apart if not self.denied_by_another(h, apart, negations)]
        kept = said or apart
        if kept and all((h.start, h.end) == (kept[0].start, kept[0].end) for h in kept):
            return self.twins(kept[0], text)  # one answer's words that read two ("not a beginner")
        answers = list(dict.fromkeys(h.intent for h in kept))
        titles = {understand.trim(c.get("title", "")) for c in self.choices}
        negations = self.bare_meaning("negation")
        outright = {
            h.intent
            for h in kept
            if understand.trim(h.folded[h.start : h.end]) in titles
            and not negations & set(understand.words(h.folded[h.end :])[:4])  # "avanzado seguro que no"
        }
        return list(outright) if len(answers) > 1 and len(outright) == 1 else answers  # "I know a bit, intermediate"

    @staticmethod
    def denied_by_another(hit: Hit, found: list[Hit], negations: frozenset[str]) -> bool:
        """Whether ``hit`` comes right after another answer that is a negation ("never" + "used it")."""
        for other in found:
            gap = hit.folded[other.end : hit.start]
            words = understand.words(hit.folded[other.start : other.end])
            if (
                other is not hit
                and other.end <= hit.start
                and len(understand.words(gap)) <= 2
                and negations & set(words)
            ):
                return True
        return False

    def same_reading(self, hit: Hit) -> Reading:
        """``hit`` as the button on screen that is the same act, when there is one ("drop it" at
        "Drop Git?": its yes, for Git); else as read."""
        same = self.same_choice(hit)
        return payload_reading(self.skills, same) if same else Reading(hit.intent, hit.args)

    def asked_by(self, hit: Hit) -> bool:
        """Whether ``hit`` would ask the question on screen again without naming anything ("drop
        it" at "Drop Git?")."""
        skill = str(hit.args.get("skill") or "")
        if skill:  # "ya no quiero aprender git" at "Drop Git?": its yes; not at "Drop Python?"
            return bool(self.answer_on_screen(hit.intent, skill))
        on_screen = {(self.skills.match_payload(c.get("payload", "")) or ("",))[0] for c in self.choices}
        return ASKED_BY.get(hit.intent) in on_screen

    def answer_on_screen(self, intent: str, skill: str) -> str:
        """The button of the question on screen that ``intent`` for ``skill`` answers ("Yes, drop
        it" for a drop of Git at "Drop Git?"), or ""."""
        for choice in self.choices:
            found = self.skills.match_payload(choice.get("payload", ""))
            if found and found[0] == ASKED_BY.get(intent) and found[1].get("skill") == skill:
                return choice["payload"]
        return ""

    def as_answer(self, hit: Hit) -> Hit:
        """``hit``, or the question's yes when it would ask the question on screen again ("yes,
        drop it" at "Drop Git?"). Negated, it is the question's no: keep_reading()."""
        return dataclasses.replace(hit, intent=ASKED_BY[hit.intent]) if self.asked_by(hit) else hit

    def keep_reading(self) -> Reading | None:
        """The question's no on screen ("No, keep it"), read as its button; None when there is none."""
        kept = next((c["payload"] for c in self.choices if "no" in c.get("means", [])), "")
        return payload_reading(self.skills, kept) if kept else None

    def same_choice(self, hit: Hit) -> str:
        """The button on screen that is the act ``hit`` reads, with what the screen adds: the Keep
        button's skill for "keep going", the next page for "any other options?"."""
        folded = understand.fold(self.text)
        for choice in self.choices:
            found = self.skills.match_payload(choice.get("payload", ""))
            if not found or found[0] != hit.intent:
                continue
            args = found[1]
            if any(str(args.get(k, "")) != str(v) for k, v in hit.args.items()):
                continue
            extra = set(args) - set(hit.args)
            said = any(understand.says(folded, p) for m in choice.get("means", []) for p in self.meanings.get(m, []))
            if extra and (extra <= {"skill"} or said):
                return choice["payload"]
        return ""

    def opening_answer(self, text: str) -> tuple[str, int]:
        """The choice on screen the message opens with a short answer for ("yes, drop it"), and
        where that answer ends; ("", 0) when none."""
        if not self.choices or phrasing.opens_with(understand.fold(text), self.meanings.get("unsure", [])):
            return "", 0  # "no sé, déjame pensarlo": its "no" answers nothing
        payload = understand.pick_choice(text, self.choices, self.meanings)
        if not payload:
            return "", 0
        folded = understand.fold(text)
        meant = dict.fromkeys(m for c in self.choices for m in c.get("means", []))
        phrases = [p for m in meant for p in self.meanings.get(m, [])]
        phrases += [c.get("title", "") for c in self.choices]
        said = phrasing.opens_with(folded, phrases)
        lead = len(folded) - len(folded.lstrip(understand.EDGES + "¿¡"))
        return payload, lead + len(said)

    def yes_and_no(self) -> list[str]:
        """The payloads of the yes and the no of the question on screen (none when it has not both)."""
        found = [next((c["payload"] for c in self.choices if m in c.get("means", [])), "") for m in ("yes", "no")]
        return found if all(found) else []

    def torn_answer(self) -> Reading | None:
        """A yes taken back in the same message at a yes-or-no question ("yeah no", "sí, bueno,
        espera un momento", "sure... not now"): never the yes; the question again, both buttons.
        Taken back: right after the yes, or by a clause that opens with it ("sí pero a las 8,
        antes no puedo" takes nothing back)."""
        answers = self.yes_and_no()
        folded = self.said.folded
        said_yes = phrasing.opens_with(folded.lstrip(understand.EDGES), self.meanings.get("yes", []))
        said_no = phrasing.opens_with(folded.lstrip(understand.EDGES), self.meanings.get("no", []))
        if not answers or not said_yes or len(said_no) >= len(said_yes):  # "please don't": a no
            return None
        yes, no = answers
        back = [p for p in [*self.meanings.get("takes_back", []), *self.meanings.get("no", [])] if understand.trim(p)]
        keep = self.meanings.get("not_taking_back", [])
        after_yes = folded.lstrip(understand.EDGES)[len(said_yes) :].lstrip(" ,.;:!?…-")
        openings = [after_yes] + [folded[a:b].strip(" ,.;:!?…-") for a, b in self.said.clauses[1:]]
        torn = any(phrasing.opens_with(o, back) and not phrasing.opens_with(o, keep) for o in openings)
        # "yes but keep my git progress", "ok drop it if I can pick it up later", "yes? what happens
        # to my reminders then": a yes with a condition or a question is no yes to act on
        asked = "?" in folded.lstrip(understand.EDGES)[len(said_yes) :]
        losing = (self.skills.match_payload(yes) or ("",))[0] in LOSES  # a yes that deletes or clears
        conditional = losing and (understand.says_any(after_yes, self.meanings.get("condition", [])) or asked)
        return ask(self.skills, [yes, no]) if torn or conditional else None
