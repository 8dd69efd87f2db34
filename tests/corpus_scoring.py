"""Scoring typed messages through the real engine: right, fallback or wrong, per context and language.

Shared by the development corpus (tests/test_corpus.py, which prints what it got wrong) and the
held-out split (tests/test_heldout.py, which reports counts only). A corpus file holds blocks that
start with "@ context"; each line is "lang | message | intent [arg=value ...]"; "#" lines are
comments. Each message is said in a fresh conversation brought to its context by pressing the
buttons a person would.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ROOT

from chatbot.engine import chat, loader
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Update
from mentor.actions import ACTIONS, CHECKS

SKILLS = loader.load(str(ROOT / "skills.json"), ACTIONS, CHECKS)
CARD = ["PICK:git", "LEVEL:beginner", "HOURS:4", "REMIND:off", "NEXT:git"]
CONTEXTS = {
    "start": [],
    "catalog": ["GET_STARTED", "BROWSE"],
    "level": ["PICK:python"],
    "hours": ["PICK:python", "LEVEL:beginner"],
    "offer": ["PICK:git", "LEVEL:beginner", "HOURS:4"],
    "card": CARD,
    "progress": [*CARD, "MY_SKILLS"],
    "suggesting": ["SUGGEST"],
    "drop": [*CARD, "DROP:git"],
}
# What the engine says when it did not act: it did not understand, or it asked which was meant.
FALLBACKS = {"fallback", "level_unclear", "hours_unclear", "clarify"}
# Names that are the same act: the last-resort reading of a skill's name is picking it; a
# suggestion typed at the prompt is a suggestion said in one go; a level said with a skill under
# way is the change of its level (both ask "Change X to Advanced?" before changing it).
SAME = {"mention_skill": "pick_skill", "save_suggestion": "suggest_this", "set_level": "choose_level"}
SKILL_ANSWERS = {"pick_skill", "mention_skill"}  # the answers that go on with the skill they name
EDGES = " \t.,;:!?¡¿…\"'()[]*_~-"
_ids = itertools.count()


@dataclass(frozen=True)
class Case:
    context: str
    lang: str
    text: str
    intent: str
    args: dict = field(default_factory=dict)


def read(path: Path) -> list[Case]:
    found, context = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@"):
            context = line[1:].strip()
            continue
        lang, text, expect = (part.strip() for part in line.split("|"))
        intent, *pairs = expect.split(" ", 1)
        args = dict(pair.split("=", 1) for pair in _pairs(pairs[0] if pairs else ""))
        found.append(Case(context, lang, text, intent, args))
    return found


def _pairs(spec: str) -> list[str]:
    """``skill=git text=game design`` -> ["skill=git", "text=game design"] (a value may hold spaces)."""
    out: list[str] = []
    for word in spec.split():
        if "=" in word or not out:
            out.append(word)
        else:
            out[-1] += " " + word
    return out


def run(case: Case) -> tuple[chat.Turn, Conversation]:
    conv = Conversation(key=f"web:corpus-{next(_ids)}")
    for payload in CONTEXTS[case.context]:
        chat.handle(_update(conv, case.lang, payload=payload), conv, SKILLS, now=1_000_000.0)
    update = _update(conv, case.lang, text=case.text, timestamp=1_000_059.0)
    return chat.handle(update, conv, SKILLS, now=1_000_060.0), conv


def _update(conv: Conversation, lang: str, **kwargs) -> Update:
    return Update(channel="web", user_id=conv.user_id, event_id=str(next(_ids)), locale=lang, **kwargs)


def verdict(turn: chat.Turn, conv: Conversation, case: Case) -> str:
    """ "right", "fallback" or "wrong". A question asking which was meant is a fallback, unless one of
    its buttons is the act meant (then right): the person gets there with one press."""
    if case.intent in FALLBACKS:
        return "right" if turn.answered in FALLBACKS else "wrong"
    if turn.answered == "clarify":
        return "right" if any(_button_is(payload, case) for payload in _payloads(turn)) else "fallback"
    if turn.answered in FALLBACKS:
        return "fallback"
    if SAME.get(case.intent, case.intent) not in {SAME.get(name, name) for name in (turn.intent, turn.answered)}:
        return "wrong"  # the act read, or the answer it led to ("my progress" with none: no_skills_yet)
    return "right" if all(_arg_holds(key, want, turn, conv) for key, want in case.args.items()) else "wrong"


def _arg_holds(key: str, want: str, turn: chat.Turn, conv: Conversation) -> bool:
    said = turn.args.get(key)
    if key == "reply":
        return getattr(turn, "locale", "") == want
    if key == "hours":  # on the plan, or kept for it until the level is answered ("excel, 2 h a day")
        kept = str(conv.slots.get("hours_said", "")).partition(":")[2]
        return want in {str(p.get("hours")) for p in conv.progress.values()} | {kept}
    if key == "skill":  # the skill read, or the one the reply went on with (a name said at a prompt)
        return str(said) == want or (turn.answered in SKILL_ANSWERS and conv.slots.get("skill") == want)
    if key == "level":
        kept = {p.get("level") for p in conv.progress.values()} | {conv.slots.get("level")}
        return said == want or want in kept
    if key == "hour":
        return str(said) == want or str(conv.reminder.get("hour")) == want
    if key == "days":
        return str(said) == want or (turn.intent == "remind_every" and str(conv.reminder.get("every_days")) == want)
    if key == "page":
        return str(said) == want or str(conv.slots.get("page")) == want
    return str(said or "").strip(EDGES).casefold() == want.casefold()


def _payloads(turn: chat.Turn) -> list[str]:
    return [
        b.payload
        for r in turn.replies
        for b in r.quick_replies + r.buttons + [x for c in r.cards for x in c.buttons]
        if b.payload
    ]


def _button_is(payload: str, case: Case) -> bool:
    found = SKILLS.match_payload(payload)
    if not found or SAME.get(found[0], found[0]) != SAME.get(case.intent, case.intent):
        return False
    args = found[1]
    return all(str(args[k]) == v for k, v in case.args.items() if k in args)


def score(cases: list[Case]) -> tuple[dict[tuple[str, str], Counter], list[tuple[Case, chat.Turn, str]]]:
    """Counts per (context, lang), and every case not right with what the engine made of it."""
    tally: dict[tuple[str, str], Counter] = defaultdict(Counter)
    missed = []
    for case in cases:
        turn, conv = run(case)
        result = verdict(turn, conv, case)
        tally[(case.context, case.lang)][result] += 1
        if result != "right":
            missed.append((case, turn, result))
    return tally, missed


def table(title: str, tally: dict[tuple[str, str], Counter]) -> str:
    """The counts as a Markdown table, with the shares of the whole."""
    lines = [f"# {title}", "", "| context | lang | messages | right | fallback | wrong |", "|---|---|---|---|---|---|"]
    for (context, lang), counts in sorted(tally.items()):
        n = sum(counts.values())
        lines.append(f"| {context} | {lang} | {n} | {counts['right']} | {counts['fallback']} | {counts['wrong']} |")
    total = totals(tally)
    n = sum(total.values())
    shares = " | ".join(f"{100 * total[k] / max(n, 1):.1f} %" for k in ("right", "fallback", "wrong"))
    lines.append(f"| all | | {n} | {total['right']} | {total['fallback']} | {total['wrong']} |")
    lines.append(f"| share | | | {shares} |")
    return "\n".join(lines) + "\n"


def totals(tally: dict[tuple[str, str], Counter]) -> Counter:
    return sum(tally.values(), Counter())


def write(name: str, text: str) -> None:
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / name).write_text(text, encoding="utf-8")
