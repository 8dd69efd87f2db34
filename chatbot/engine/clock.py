"""Times of day as people type them in English and Spanish, on a 24-hour clock: "7 de la tarde"
is 19:00, "every evening at 7" 19:00, "9 de la mañana" 9:00, "6:30 pm", "18h", "noon". The words
come from skills.json's ``durations`` vocabulary (parts of the day, "at" words), read by
time_words.py."""

from __future__ import annotations

from chatbot.engine import time_words

CLOCK_WORDS = ("hour", "minute", "days", "noon", "midnight", "am", "pm", "morning", "evening", "at")
NOTES = frozenset({"am", "pm", "a", "p"})  # the clock's notation alone says no part of the day


def of_day(
    text: str, table: dict, lang: str = "", part_of_day: bool = False, said_as_time: bool = False
) -> tuple[int, int] | None:
    """A time of day on a 24-hour clock: "6:30 pm", "18h", "a las 7 de la tarde", "every evening at
    7", "noon". With ``part_of_day``, "mornings" alone is 8:00 and "evenings" 19:00. With
    ``said_as_time``, a bare number is not a time ("yes, I have 2 kids"): it needs "at", a clock's
    notation or a part of the day."""
    toks = time_words.tokens(text, lang)
    marks = time_words.marks(time_words.reader(table, CLOCK_WORDS), toks)
    kinds = {kind for _, kind, _ in marks}
    pm = bool(kinds & {"pm", "evening"})
    am = bool(kinds & {"am", "morning"})
    for _, kind, _ in marks:
        if kind == "noon":
            return 12, 0
        if kind == "midnight":
            return 0, 0
    best: tuple[int, int, int] | None = None  # (rank, hour, minute)
    for index, (i, kind, value) in enumerate(marks):
        if kind != "number":
            continue
        hour, minute, rank = int(float(value)), 0, 1
        before = marks[index - 1] if index > 0 else None
        after_at = bool(before and before[1] == "at" and before[0] >= i - 2)
        if toks[i] in time_words.ARTICLES and not after_at:
            continue  # "3 hours a week": an article, not one o'clock ("a la una" is)
        whole, dot, tail = toks[i].replace(",", ".").partition(".")
        if dot and len(tail) == 2:  # "9.15": a time, not a number of hours
            hour, minute, rank = int(whole), int(tail), 3
        elif dot:
            continue
        following = toks[i + 1 : i + 3]
        if following[:1] in ([":"], ["."], ["h"]) and len(following) > 1 and following[1].isdigit():
            minute, rank = int(following[1]), 3
        nxt = marks[index + 1] if index + 1 < len(marks) else None
        if nxt and nxt[1] in ("hour", "minute", "days") and nxt[0] == i + 1 and rank < 3:
            if toks[i + 1] not in ("h", "hs"):
                continue  # "2 hours", "3 days": an amount, not a time ("18h" is one)
            rank = 2
        if after_at:
            rank = max(rank, 2)
        if nxt and nxt[1] in ("pm", "am") and nxt[0] <= i + 4:
            rank = 4
        if said_as_time and rank < 2 and not (nxt and nxt[1] in ("morning", "evening") and nxt[0] <= i + 3):
            continue
        if not (0 <= hour <= 23 and 0 <= minute <= 59) or (best and best[0] >= rank):
            continue
        best = (rank, hour, minute)
    if best is None:
        # A part of the day said in words ("mornings", "in the evening"), not the clock's own "am".
        parts = {kind for i, kind, _ in marks if kind in ("am", "pm", "morning", "evening") and toks[i] not in NOTES}
        early, late = bool(parts & {"am", "morning"}), bool(parts & {"pm", "evening"})
        if part_of_day and early != late:
            return (19, 0) if late else (8, 0)
        return None
    _, hour, minute = best
    if pm and 1 <= hour < 12:
        hour += 12
    elif am and hour == 12:
        hour = 0
    return hour, minute
