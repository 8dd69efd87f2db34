"""What one message means, and how sure the engine is of it.

A ``Reading`` is an intent with its arguments and a confidence. Sure: a button, a command, a
button's title or short answer typed whole (or a clause of the message that is one), a pattern
of skills.json. Not sure: a skill's name said in passing ("my english is not good"), an answer
to the question on screen found inside a longer message that asks something else, an act that
changes what is kept when the message says another such act too ("I'm done with reminders"),
or says it under a negation with an opposite ("don't send me reminders"), or names it only once
a typo was corrected. A reading that is not sure never acts: the engine asks which was meant,
with the likely acts as buttons (the ``clarify`` intent).

The order: a button on screen or the state's own words, as the whole message (or past the words
that open it and ask nothing, "ok so", "could you"); in a state that takes free text, that text
unless the message plainly asks for something else; the patterns, weighed against the question
on screen, negations, the other acts the message says and the clause each is in; a short answer
the message starts with ("yes, drop it"); a clause that is a whole reading ("thanks, what's
next"); a time or how often, when reminders were offered; a skill's name anywhere; a greeting or
thanks the message opens with; the state's free text; the fallback.

The modules, each reader class built on the one before: ``kinds`` (the kinds of act and the word
counts), ``patterns`` (what skills.json's patterns and names find), ``message`` (the message),
``screen`` (the question on screen and its answers), ``clauses``, then ``acts`` (weighing the
patterns' hits) and ``answers`` (answers inside a longer message), and ``reader``, which puts them
together. They import the engine's text tools (``understand``, ``phrasing``, ``amounts``,
``also_said``), ``skills`` and ``conversation``, and nothing above the engine.
"""

from chatbot.engine.reading.kinds import CLARIFY, Reading
from chatbot.engine.reading.reader import Reader, read

__all__ = ["CLARIFY", "Reader", "Reading", "read"]
