"""Layer 4, messages the bot starts: due wakes (reminders), claimed with a lease and delivered
once through the relay, and broadcasts to an audience.

Imports the layers below it.
"""
