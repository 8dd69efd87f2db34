"""Layer 3, the path of one update: the delivery record kept in each conversation's document
(event ids, outbox, transcript), applying an update once, sending its replies, settling what
went out; the flood limit and the owner's tallies ride along in the same write.

Imports ``chatbot.core``, ``chatbot.engine`` and ``chatbot.store``.
"""
