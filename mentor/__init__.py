"""The bot in the box: a mentor that guides a person through learning a skill.

What skills.json cannot say as data: the named actions (``ACTIONS``), the catalog's rules
(``CHECKS``, run by ``skills check``), reminders, the learner's plan and one step of it, and
progress kept under an older catalog brought up to this one (``upgrade``).
``create_app`` hands ``ACTIONS`` and ``CHECKS`` to the engine. A different bot replaces this
package and skills.json and touches nothing else.

Imports only ``chatbot.engine`` (and ``chatbot.core.text`` for text as platforms count it).
"""

from mentor.actions import ACTIONS, CHECKS

__all__ = ["ACTIONS", "CHECKS"]
