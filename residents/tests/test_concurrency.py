import threading

import pytest
from django.db import connection

from campaign.lib.idnumber import make_id_number
from residents.models import Resident
from residents.services import AlreadyRegistered, resident_register


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_cadres_registering_the_same_id_at_once_one_wins_the_other_is_told(qingshan, honghe):
    import datetime

    number = make_id_number("341524", datetime.date(1988, 8, 8), 33)
    barrier = threading.Barrier(2)
    outcomes = []

    def register(village):
        try:
            barrier.wait()
            resident_register(campaign=village.campaign, village=village, name="同一人", id_number=number)
            outcomes.append("registered")
        except AlreadyRegistered as duplicate:
            outcomes.append(f"duplicate in {duplicate.village}")
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(v,)) for v in (qingshan, honghe)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[-1] == "registered"
    assert sorted(outcomes)[0].startswith("duplicate in ")
    assert Resident.objects.filter(id_number=number).count() == 1
