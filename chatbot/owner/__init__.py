"""Layer 5, the owner's side: stats and the dashboard, the privacy and deletion pages, erasure,
``doctor``, and who may run the scheduled tasks.

Imports the layers below it.
"""
