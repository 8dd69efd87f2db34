"""The held-out split of typed messages (tests/corpus/heldout.txt): measured, never tuned to.

Written before the understanding changes it measures. This test reports right / fallback / wrong
per context and language as counts only (never a message: the split must stay unseen by whoever
tunes the engine), writes the table to test-artifacts/heldout-report.md, and holds two lines:

- fallbacks: at most 10 % of its messages, the target;
- wrong actions: the target is 2 %, and it is not met yet (2.1 % when last measured, 8 of 379).
  Until it is, this test holds the line where it stands so that no change makes it worse; lower
  MAX_WRONG_SHARE as it improves, down to TARGET_WRONG_SHARE.
"""

from __future__ import annotations

from pathlib import Path

from corpus_scoring import CONTEXTS, FALLBACKS, SAME, SKILLS, read, score, table, totals, write

HELDOUT = Path(__file__).with_name("corpus") / "heldout.txt"
TARGET_WRONG_SHARE = 0.02
MAX_WRONG_SHARE = 0.022  # where it stands (8 of 379): a change that adds a wrong action fails here
MAX_FALLBACK_SHARE = 0.10


def test_the_heldout_split_names_only_known_contexts_and_intents():
    cases = read(HELDOUT)
    unknown_contexts = sorted({c.context for c in cases} - set(CONTEXTS))
    assert not unknown_contexts, f"contexts the scorer cannot set up: {unknown_contexts}"
    known = set(SKILLS.intents) | FALLBACKS | set(SAME.values())
    assert not sorted({c.intent for c in cases} - known), "intents the bot does not have"


def test_heldout_typed_messages_are_understood():
    cases = read(HELDOUT)
    tally, _ = score(cases)  # what was missed stays here: only counts leave this test
    report = table("Held-out typed messages (counts only)", tally)
    write("heldout-report.md", report)
    print(report)
    total = totals(tally)
    n = sum(total.values())
    assert total["wrong"] / n <= MAX_WRONG_SHARE, report
    assert total["fallback"] / n <= MAX_FALLBACK_SHARE, report
