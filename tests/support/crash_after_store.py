"""A feed, and a crash at a chosen point: loaded through DASHBOARDS_FEED_MODULES by tests/integration/test_crash.py.

With CRASH_AFTER_STORES=N the loop's process SIGKILLs itself right after its
Nth batch is stored and before it is posted: the worst moment to die.
"""

from __future__ import annotations

import itertools
import os
import signal

from dashboards_live.declaring.components import Stat
from dashboards_live.declaring.feeds import feed
from dashboards_live.publishing import delivery

numbers = itertools.count(1)


@feed(channel="crashtest", component=Stat("n"), every=0.2)
def t_crash() -> str:
    return str(next(numbers))


_limit = int(os.environ.get("CRASH_AFTER_STORES", "0"))
if _limit:
    _real_store = delivery.RetryingDelivery._store
    _stored = itertools.count(1)

    def _store_then_die(self: delivery.RetryingDelivery, items: list[delivery.Pending]) -> bool:
        ok = _real_store(self, items)
        if ok and next(_stored) >= _limit:
            os.kill(os.getpid(), signal.SIGKILL)
        return ok

    delivery.RetryingDelivery._store = _store_then_die  # type: ignore[method-assign]
