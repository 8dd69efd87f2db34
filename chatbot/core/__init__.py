"""Layer 0, the ground floor: settings, JSON logs, the one outbound HTTP path, text as the
platforms count it, copies of stored data, and the channel registry.

Imports nothing of the project.
"""
