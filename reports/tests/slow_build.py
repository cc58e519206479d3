"""Imported by a test's Celery worker (`--include`): an export's first build stops half-way, to be killed there.

The first attempt writes its file's rows and then waits, its export left running; a build taken
up again after the worker died (attempt 2) runs through.
"""

import time

from reports import services

_build_roster = services._build_roster


def _first_build_hangs(export, **kwargs):
    result = _build_roster(export, **kwargs)
    if export.attempts == 1:
        time.sleep(300)
    return result


services._build_roster = _first_build_hangs
