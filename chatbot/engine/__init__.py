"""Layer 1, the engine: the neutral types every channel speaks (``Update``, ``Reply``, ``Button``,
``Card``), a conversation's state and ``handle()`` (pure: no network, no clock of its own),
reading what people type (reading/: what a message means and how sure; phrasing.py: how it is
put, its clauses, negations, questions, respellings; also_said.py: what else it says, filled in;
understand.py: words, typos, language; time_words.py, amounts.py, clock.py: the words of time,
amounts of time, times of day; linear.py: patterns in linear time, RE2), and loading and
checking skills.json against every platform's limits.

Imports only ``chatbot.core``.
"""
