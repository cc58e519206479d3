"""Races for tests: real threads released together, each on its own database connection."""

import threading

from django.db import connection


def at_once(count, work):
    """Run `work` in `count` threads released together; returns (results, errors) of all threads."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except Exception as error:  # noqa: BLE001 - the test reports every failure
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
