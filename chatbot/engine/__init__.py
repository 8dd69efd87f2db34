"""Layer 1, the engine: the neutral types every channel speaks (``Update``, ``Reply``, ``Button``,
``Card``), a conversation's state and ``handle()`` (pure: no network, no clock of its own),
reading what people type, and loading and checking skills.json against every platform's limits.

Imports only ``chatbot.core``.
"""
