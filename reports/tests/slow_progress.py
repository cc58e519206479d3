"""Imported by a test's Celery worker (`--include`): a build that reports every 100 rows, each report written and slow.

Every report waits 0.2 s after it is written, so a test reading the progress from another process
sees the steps go by.
"""

import time

from campaign.lib import jobs
from reports import roster

roster.PROGRESS_EVERY = 100
jobs.WRITE_EVERY = 0
_report = jobs.ProgressReporter.__call__


def _slow_report(self, done, total=None):
    _report(self, done, total)
    time.sleep(0.2)


jobs.ProgressReporter.__call__ = _slow_report
