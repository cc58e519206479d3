import uuid

import pytest

from campaign.tasks import ping
from campaign.tests.worker import real_worker


@pytest.mark.django_db
def test_a_task_runs_in_process_without_a_broker(qingshan):
    assert ping.delay().get(timeout=5) == {"campaigns": [{"campaign": qingshan.campaign.name, "villages": 1}]}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_task_runs_through_a_real_worker_on_redis(qingshan):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with real_worker(queue):
        result = ping.apply_async(queue=queue)
        assert result.get(timeout=60) == {"campaigns": [{"campaign": qingshan.campaign.name, "villages": 1}]}
