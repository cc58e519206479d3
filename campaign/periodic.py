"""Periodic jobs run per open campaign.

Several campaigns run at once (Campaign.objects.open()), so no job outside a request works in "the"
campaign: each periodic job (progress, the weekly report, no-shows, reminders) does its work for each
open campaign in turn, or for the one campaign it is given (`campaign_id`, e.g. from a command).

Each campaign's work is separate: one that fails is logged and the others still run; once all ran,
the first failure is raised again, so that the task shows as failed and its retries (autoretry_for)
run it again. Every job run this way is safe to run twice, so a retry that repeats the campaigns
that succeeded changes nothing there.
"""

import logging
from collections.abc import Callable
from typing import Any

from campaign.models import Campaign

log = logging.getLogger(__name__)


def job_campaigns(campaign_id: int | None = None) -> list[Campaign]:
    """The campaigns a periodic job runs for: the open ones (oldest first), or the one given (open or not)."""
    if campaign_id is not None:
        return list(Campaign.objects.filter(pk=campaign_id))
    return list(Campaign.objects.open().order_by("start_date", "pk"))


def per_campaign(job: str, work: Callable[[Campaign], Any], *, campaign_id: int | None = None) -> dict[int, Any]:
    """Run `work(campaign)` for each campaign of job_campaigns(campaign_id), each apart from the others.

    Returns {campaign id: what work returned} for the campaigns whose work succeeded. When any failed,
    raises the first failure after every campaign had its turn (each failure is logged with its campaign).
    """
    done: dict[int, Any] = {}
    failures: list[BaseException] = []
    for campaign in job_campaigns(campaign_id):
        try:
            done[campaign.pk] = work(campaign)
        except Exception as error:
            log.exception("%s failed for campaign %s (#%s)", job, campaign.name, campaign.pk)
            failures.append(error)
    if failures:
        raise failures[0]
    return done
