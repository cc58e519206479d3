"""The campaign itself: its settings, villages and users' roles, with the few helpers every app shares (`lib/`)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
