"""One big query read ahead: the database produces the next rows while the caller writes the last ones.

A streamed query (`.iterator()`) makes the caller wait for every chunk: PostgreSQL computes the
next 2,000 rows only when they are asked for, so its work and the caller's (an Excel file of
100,000 rows) add up, on a machine with a core to spare for each. read_ahead reads the chunks in a
thread instead, on a connection of its own, while the caller works through the chunks already
read: the two overlap. It is still one query, streamed; at most READ_AHEAD_CHUNKS chunks wait in
memory, so memory stays flat whatever the number of rows.

The thread's query runs in a transaction of its own: on PostgreSQL a cursor outside a transaction
is declared WITH HOLD, and PostgreSQL then computes every row before handing out the first. It
sees what is committed, which is all there is when the caller is not inside a transaction itself.
Inside one (the caller's rows may not be committed yet: tests, or a caller's atomic block), and on
other databases, read_ahead is the queryset's own `.iterator()` in the caller's thread.
"""

import queue
import threading
from itertools import islice

from django.db import connections, transaction

READ_AHEAD_CHUNKS = 2
_DONE = object()


def read_ahead(queryset, *, chunk_size: int = 2000):
    """Iterate the rows of `queryset` (one query, streamed), reading ahead in a thread where it can."""
    alias = queryset.db
    connection = connections[alias]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from queryset.iterator(chunk_size=chunk_size)
        return
    chunks = queue.Queue(maxsize=READ_AHEAD_CHUNKS)
    stop = threading.Event()

    def hand_over(item) -> bool:
        # Waits while the caller is behind, and gives up when the caller has stopped reading.
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read():
        try:
            with transaction.atomic(using=alias):
                with connections[alias].cursor() as cursor:
                    # JIT compiling took 0.3 s of this kind of query (index probes per row) and saved nothing.
                    cursor.execute("SET LOCAL jit = off")
                rows = queryset.iterator(chunk_size=chunk_size)
                while chunk := list(islice(rows, chunk_size)):
                    if not hand_over(chunk):
                        return
            hand_over(_DONE)
        except BaseException as error:  # handed to the caller, who raises it
            hand_over(error)
        finally:
            connections[alias].close()  # this thread's own connection

    reader = threading.Thread(target=read, name="read-ahead", daemon=True)
    reader.start()
    try:
        while (chunk := chunks.get()) is not _DONE:
            if isinstance(chunk, BaseException):
                raise chunk
            yield from chunk
    finally:
        stop.set()
        reader.join()
