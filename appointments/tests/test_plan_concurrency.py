import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from appointments.models import WeeklyPlan
from appointments.planning.services import plan_propose


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_proposal_during_a_publish_waits_and_then_leaves_the_published_plan_alone(campaign, office, qingshan):
    today = timezone.localdate()
    plan = plan_propose(campaign=campaign, week_start=today, created_by=office, today=today)
    before = sorted(plan.allocations.values_list("village_id", "date", "places"))
    outcome = []

    def propose():
        try:
            plan_propose(campaign=campaign, week_start=today, created_by=office, today=today)
            outcome.append("proposed")
        except ValidationError as error:
            outcome.append(error.code)
        finally:
            connection.close()

    # A publish in progress: the plan row is locked and marked published, not yet committed.
    # Without the lock, the proposal would read "draft", replace the places, and the publish would
    # then commit a plan whose numbers nobody reviewed.
    with transaction.atomic():
        locked = WeeklyPlan.objects.select_for_update().get(pk=plan.pk)
        locked.status = WeeklyPlan.Status.PUBLISHED
        locked.published_at = timezone.now()
        locked.save(update_fields=["status", "published_at"])
        thread = threading.Thread(target=propose)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the proposal must wait for the publish"
    thread.join(timeout=10)
    assert outcome == ["published"]
    assert sorted(plan.allocations.values_list("village_id", "date", "places")) == before
