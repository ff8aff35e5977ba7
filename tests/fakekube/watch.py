"""Watch: the stored changes as a stream of ADDED/MODIFIED/DELETED events, for ``?watch=true`` requests.

kubernetes.core does not watch (it polls), but kubectl (``get -w``, ``rollout status``, ``wait``) and client-go
informers do. Every change the store makes is kept in a bounded log; a watcher gets the events after the
resourceVersion it asks for (or the current objects as ADDED when it asks for none or "0"), then waits for more
until its timeout. A resourceVersion older than the log is answered 410 Expired, and the client lists again.
"""

import collections
import threading
import time

from .errors import ApiError

LOG_SIZE = 20000
DEFAULT_TIMEOUT = 1800


def expired(revision):
    return ApiError(410, "Expired", "too old resource version: %s" % revision)


class WatchHub:
    """The change log, and a condition watchers wait on (it shares the API server's lock)."""

    def __init__(self, lock):
        self._condition = threading.Condition(lock)
        self._log = collections.deque(maxlen=LOG_SIZE)

    def record(self, rtype, event_type, obj):
        with self._condition:
            revision = int(obj["metadata"]["resourceVersion"])
            self._log.append((revision, rtype.group, rtype.plural, event_type, obj))
            self._condition.notify_all()

    def check_revision(self, revision):
        with self._condition:
            if self._log and revision < self._log[0][0] - 1 and len(self._log) == self._log.maxlen:
                raise expired(revision)

    def wait_for(self, rtype, after, deadline):
        """Events for ``rtype`` newer than revision ``after``; waits until there are some or ``deadline`` passes."""
        with self._condition:
            while True:
                events = []
                for revision, group, plural, event_type, obj in reversed(self._log):
                    if revision <= after:
                        break
                    if group == rtype.group and plural == rtype.plural:
                        events.append((revision, event_type, obj))
                remaining = deadline - time.monotonic()
                if events or remaining <= 0:
                    return events[::-1]
                self._condition.wait(remaining)
