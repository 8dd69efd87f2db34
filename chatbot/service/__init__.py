"""Layer 6, the Flask side of the service: the parts ``create_app`` wires together, the routes
as blueprints, and the ``flask`` commands.

Imports the layers below it; never ``app.py``, a channel module or the bot in the box.
"""
