"""Typed messages through the real engine: what share is understood, misread, or falls back.

tests/corpus/typed.txt holds several hundred messages in English and Spanish,
each said in a context (a step of the conversation, reached by pressing the
buttons a person would) with the meaning it has there. The report, per context
and language, is written to test-artifacts/corpus-report.md and printed.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from pathlib import Path

from conftest import ROOT

from chatbot.engine import chat
from chatbot.engine import skills as skills_module
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Update
from mentor.actions import ACTIONS, CHECKS

SKILLS = skills_module.load(str(ROOT / "skills.json"), ACTIONS, CHECKS)
CORPUS = Path(__file__).with_name("corpus") / "typed.txt"
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
# What the engine says when it did not understand, in general or at one step.
FALLBACKS = {"fallback", "level_unclear", "hours_unclear"}
SAME = {"mention_skill": "pick_skill"}  # the last-resort reading of a skill's name is picking it
# The bar: at most this share of messages with a clear meaning may fall back, and none of the
# amounts of time and levels may be misread.
MAX_FALLBACK_SHARE = 0.10
MAX_MISREAD_SHARE = 0.03
_ids = itertools.count()


def cases() -> list[tuple[str, str, str, str, dict]]:
    found, context = [], ""
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@"):
            context = line[1:].strip()
            continue
        lang, text, expect = (part.strip() for part in line.split("|"))
        intent, *pairs = expect.split(" ", 1)
        args = dict(pair.split("=", 1) for pair in _pairs(pairs[0] if pairs else ""))
        found.append((context, lang, text, intent, args))
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


def run_case(context: str, lang: str, text: str) -> tuple[chat.Turn, Conversation]:
    conv = Conversation(key=f"web:corpus-{next(_ids)}")
    for payload in CONTEXTS[context]:
        chat.handle(_update(conv, lang, payload=payload), conv, SKILLS, now=1_000_000.0)
    return chat.handle(_update(conv, lang, text=text), conv, SKILLS, now=1_000_060.0), conv


def _update(conv: Conversation, lang: str, **kwargs) -> Update:
    return Update(channel="web", user_id=conv.user_id, event_id=str(next(_ids)), locale=lang, **kwargs)


def verdict(turn: chat.Turn, conv: Conversation, intent: str, args: dict) -> str:
    if intent in FALLBACKS and turn.answered in FALLBACKS:
        return "understood"
    if turn.answered in FALLBACKS:
        return "fallback"
    if SAME.get(turn.intent, turn.intent) != intent:
        return "misread"
    for key, want in args.items():
        if key == "hours":
            got = {str(p.get("hours")) for p in conv.progress.values()}
            if want not in got:
                return "misread"
        elif key == "level":
            if turn.args.get("level") != want:
                return "misread"
        elif str(turn.args.get(key, "")).casefold() != want.casefold():
            return "misread"
    return "understood"


def test_the_corpus_is_big_and_covers_every_context_in_both_languages():
    found = cases()
    assert len(found) >= 300
    assert {(c, lang) for c, lang, *_ in found} >= {(c, lang) for c in CONTEXTS for lang in ("en", "es")}
    assert {intent for *_, intent, _ in found} <= set(SKILLS.intents)


def test_typed_messages_are_understood():
    tally: dict[tuple[str, str], Counter] = defaultdict(Counter)
    wrong = []
    for context, lang, text, intent, args in cases():
        turn, conv = run_case(context, lang, text)
        result = verdict(turn, conv, intent, args)
        clear = intent not in FALLBACKS
        tally[(context, lang)][result] += 1
        tally[(context, lang)]["clear"] += clear
        if result != "understood":
            wrong.append(f"{context}/{lang}: {text!r} -> {turn.intent} {turn.args} (wanted {intent} {args})")
            if intent in ("choose_hours", "choose_level") and result == "misread":
                tally[("_amounts", "")]["misread"] += 1
    report = write_report(tally, wrong)
    print(report)
    total = sum(tally.values(), Counter())
    clear = total["clear"]
    assert tally[("_amounts", "")]["misread"] == 0, report
    assert total["fallback"] / clear <= MAX_FALLBACK_SHARE, report
    assert total["misread"] / clear <= MAX_MISREAD_SHARE, report


def write_report(tally: dict, wrong: list[str]) -> str:
    lines = ["| context | lang | messages | understood | misread | fell back |", "|---|---|---|---|---|---|"]
    for (context, lang), counts in sorted(tally.items()):
        if context.startswith("_"):
            continue
        n = sum(counts[k] for k in ("understood", "misread", "fallback"))
        lines.append(
            f"| {context} | {lang} | {n} | {counts['understood']} | {counts['misread']} | {counts['fallback']} |"
        )
    total = sum((c for k, c in tally.items() if not k[0].startswith("_")), Counter())
    n = sum(total[k] for k in ("understood", "misread", "fallback"))
    lines.append(f"| all | | {n} | {total['understood']} | {total['misread']} | {total['fallback']} |")
    report = "\n".join(["# Typed messages", "", *lines, "", "Not understood as meant:", *wrong, ""])
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "corpus-report.md").write_text(report, encoding="utf-8")
    return report
