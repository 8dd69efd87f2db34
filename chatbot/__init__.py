"""The runtime: a chatbot service any bot can run on, in layers.

    core      (0) settings, JSON logs, the one outbound HTTP path, text as platforms count it,
                  the channel registry
    engine    (1) the neutral types, a conversation's state and ``handle()``, reading typed text,
                  loading and checking skills.json
    store     (2) the ``Store`` protocol and its SQLite and Firestore backends
    delivery  (3) the path of one update: record, apply once, send, settle, flood limit, tallies
    outreach  (4) messages the bot starts: due wakes (reminders) and broadcasts
    owner     (5) stats and the dashboard, privacy and erasure, doctor, who may run the tasks
    service   (6) the Flask side: routes as blueprints, the ``flask`` commands, the parts
                  ``create_app`` wires together

A layer imports only from the layers below it. Nothing here imports ``app.py``, a channel
module (``fb.py``, ``tg.py``, ``web.py``) or the bot in the box (``mentor``): channels arrive as
objects built by ``create_app`` from the registry, and the bot's actions as a table.
"""
