"""The kinds of act a message may say, the word counts the reader goes by, and a ``Reading``."""

from __future__ import annotations

from dataclasses import dataclass, field

# Acts that change what is kept about the person: taken only on a clear reading.
CHANGES = frozenset(
    {
        "mark_done",
        "skip_step",
        "choose_level",
        "set_level",
        "choose_hours",
        "change_pace",
        "remind_on",
        "remind_off",
        "remind_at",
        "remind_every",
        "drop_skill",
        "drop_confirmed",
        "restart_skill",
        "forget_me",
        "forget_confirmed",
    }
)
# Acts on the step on screen or the reminders that also change something: with CHANGES, the acts
# a message may say two of ("I know the basics, give me something harder"), and then is asked.
ACTS = CHANGES | {"too_hard", "too_easy", "broken_link", "snooze", "set_language", "change_level"}
PICKS = frozenset({"pick_skill", "mention_skill"})
LANGUAGE = frozenset({"set_language"})  # a language's name may be a skill's too ("inglés")
ON_A_STEP = frozenset({"mark_done", "skip_step", "too_hard", "too_easy", "broken_link"})  # need a skill under way
ON_A_SKILL = frozenset({"change_pace", "restart_skill"})  # a change to a skill under way, the one named
TOGETHER = ({"remind_on", "remind_at", "remind_every"},)  # acts that say one thing between them
# Ways out of a question that takes any text, which it never takes as its answer when said plainly:
# asking for a person ("a human please" is not a skill to suggest), and never mind ("oops, I didn't
# mean to press that").
ESCAPES = frozenset({"human", "cancel"})
SOCIAL = frozenset({"thanks", "welcome"})  # said around a request, not instead of one
GENERIC = frozenset({"help", "browse"})  # read from a word that may be about a skill named beside it
# What a negation before it undoes ("I don't want to learn git", "no quiero empezar de cero").
NEGATABLE = ACTS | {"pick_skill", "mention_skill", "learn_topic", "suggest_this"}
# What an act means under a negation, when it means anything ("don't send me reminders").
OPPOSITE = {
    "remind_on": "remind_off",
    "pick_skill": "drop_skill",
    "mention_skill": "drop_skill",
    "next_assignment": "drop_skill",
}
# Acts on a skill under way, and what they are for one that is not, when the message says that too
# ("quiero aprender python desde cero": a start, not a restart).
UNDER_WAY = {"restart_skill": "pick_skill"}
# Acts on a skill said without naming one, and what else they may mean ("start over": the menu).
NAMES_A_SKILL = {"restart_skill": ["MENU"]}
NO_ANSWER = frozenset({"yes", "unsure"})  # short answers that give no text to a question that wants one
SUGGESTS = {"suggest_this": "suggest"}  # a suggestion said in one go, and the wish to make one
# Acts that ask a question, by the act that answers it yes: "drop it" at "Drop Git?" is that yes.
ASKED_BY = {"drop_skill": "drop_confirmed", "forget_me": "forget_confirmed"}
# "ok thanks" or "sí, déjalo" after a question is its answer, not a thank-you or a "never mind".
ACKNOWLEDGE = frozenset({"thanks", "cancel"})
PREFIX_REST = 3  # words after a short answer that still leave it the answer ("yes, drop it")
OPENING_WORDS = 2  # words a clause may say before the act it opens with ("I really finished it")
SHORT_CLAUSE = 6  # words of a clause that is about the act it names ("the page doesn't load")
SUBJECT_WORDS = 4  # words of a first clause that names a subject before saying why ("negotiation. I'm terrible at...")
OTHER_WORDS = 3  # words a time or how often may come with ("is fine", "please")
SHORT_ANSWER = 6  # words of a message that only says a time or how often ("once a week is enough")
LAST_RESORT = "mention_skill"
CLARIFY = "clarify"  # the intent that asks which act was meant (chat.py adds its buttons)
MAX_OFFERS = 3


@dataclass
class Reading:
    intent: str
    args: dict = field(default_factory=dict)
    sure: bool = True  # False: the engine asks which act was meant (args["offers"]: their payloads)
    payload: str = ""  # the button it is, when it is one


# The answers that lose something kept (everything about the person, a skill's progress, a plan's
# steps): a yes to them with a condition or a question ("yes but keep my progress") is asked again.
LOSES = frozenset({"forget_confirmed", "drop_confirmed", "set_level", "restart_skill"})
