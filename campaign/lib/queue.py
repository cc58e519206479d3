"""Sending a Celery task from a request, without letting a dead broker turn the request into a 500."""

import logging

from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def enqueue(task, *args, **kwargs) -> bool:
    """Queue `task(*args, **kwargs)`; True when queued (or run, on the embedded default).

    False, logged, when the broker cannot be reached: the caller's saved work stays saved and
    the caller says what happens instead (a sweep queues it again later). The result is not
    kept: no caller reads it, and waiting on it would tie the request to Redis once more.
    """
    try:
        task.apply_async(args, kwargs, ignore_result=True)
    except (OperationalError, RedisError, OSError) as error:
        logger.warning("could not queue %s%r: %s", task.name, args, error)
        return False
    return True
