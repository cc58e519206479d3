"""One big query read ahead (campaign.lib.readahead): the same rows, in order, whoever reads them."""

import threading
import time

import pytest
from django.db import DataError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Sqrt

from campaign.lib.readahead import read_ahead
from campaign.models import Village
from campaign.tests.factories import VillageFactory


def readers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "read-ahead"]


def other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0] - 1


def sessions_back_to(count: int) -> bool:
    """Whether the other sessions on the test database are back to `count` (or fewer) within 2 s.

    A closed connection's server process leaves pg_stat_activity a moment after the close; a
    session of an earlier test (a stopped worker's) may leave meanwhile too, hence "or fewer".
    """
    deadline = time.monotonic() + 2
    while other_sessions() > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return other_sessions() <= count


@pytest.fixture
def villages(site_centre):
    return [VillageFactory(site=site_centre) for _ in range(10)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_thread_reads_ahead_the_same_rows_in_order(villages):
    query = Village.objects.order_by("-pk").values_list("pk", "name")
    sessions = other_sessions()
    rows = read_ahead(query, chunk_size=3)  # 10 rows: four chunks
    first = next(rows)
    assert readers()  # read by the thread, on a connection of its own
    assert [first, *rows] == list(query)
    assert not readers() and sessions_back_to(sessions)  # its connection is closed when it is done


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reader_left_halfway_stops_and_closes_its_connection(villages):
    sessions = other_sessions()
    rows = read_ahead(Village.objects.order_by("pk").values_list("pk"), chunk_size=2)
    assert next(rows) == (villages[0].pk,)
    rows.close()
    assert not readers() and sessions_back_to(sessions)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_error_of_the_query_is_raised_to_the_reader(villages):
    # The last village's row takes the square root of a negative number: PostgreSQL fails in the fourth chunk.
    root = Sqrt(Value(villages[-1].pk - 0.5) - F("pk"))
    broken = Village.objects.order_by("pk").annotate(root=root).values_list("pk", "root")
    rows = read_ahead(broken, chunk_size=3)
    read = []
    with pytest.raises(DataError):
        read.extend(rows)
    assert [pk for pk, _root in read] == [village.pk for village in villages[:9]]
    assert not readers()


def test_inside_a_transaction_the_rows_are_read_in_this_thread_as_they_may_be_uncommitted(villages):
    # pytest-django's test runs inside a transaction: another connection would not see these villages.
    assert connection.in_atomic_block
    with transaction.atomic():
        rows = read_ahead(Village.objects.order_by("pk").values_list("pk"), chunk_size=3)
        assert next(rows) == (villages[0].pk,)
        assert not readers()
        assert [row for (row,) in rows] == [village.pk for village in villages[1:]]
