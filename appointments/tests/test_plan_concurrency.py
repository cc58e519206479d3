import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from appointments.models import WeeklyPlan
from appointments.planning.selectors import plan_version
from appointments.planning.services import plan_propose, plan_publish


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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_publish_during_an_adjustment_waits_and_then_refuses_the_numbers_it_did_not_show(campaign, office, qingshan):
    today = timezone.localdate()
    plan = plan_propose(campaign=campaign, week_start=today, created_by=office, today=today)
    shown = plan_version(plan=plan)
    outcome = []

    def publish():
        try:
            plan_publish(plan=plan, published_by=office, version=shown)
            outcome.append("published")
        except ValidationError as error:
            outcome.append(error.code)
        finally:
            connection.close()

    # An adjustment from a second screen in progress: the plan row is locked and a number changed,
    # not yet committed. Without the lock the publish would compare against the old numbers, match
    # the confirmation, and publish a plan whose numbers change a moment later.
    with transaction.atomic():
        WeeklyPlan.objects.select_for_update().get(pk=plan.pk)
        allocation = plan.allocations.order_by("pk").first()
        allocation.places += 7
        allocation.save(update_fields=["places"])
        thread = threading.Thread(target=publish)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the publish must wait for the adjustment"
    thread.join(timeout=10)
    assert outcome == ["changed"]
    plan.refresh_from_db()
    assert plan.status == WeeklyPlan.Status.DRAFT
