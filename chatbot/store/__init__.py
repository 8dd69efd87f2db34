"""Layer 2, where conversations are kept: the ``Store`` protocol (the few operations a
conversation needs), the smaller interfaces a backend may add (the wake index, the owner's
queries), and the two backends, SQLite (local, embedded) and Firestore (production).

Imports only ``chatbot.core``. The store knows nothing of the engine or of delivery.
"""
