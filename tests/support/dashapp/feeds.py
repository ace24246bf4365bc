import os

from dashboards_live import feed

from .dashboards import Ops

# the tests read these back from the page
QUEUE = int(os.environ.get("DASHAPP_QUEUE", "42"))


@feed(Ops.queue, every=1)
def ops_queue() -> dict[str, object]:
    return {"text": f"{QUEUE:,}", "sub_text": "jobs waiting", "value": QUEUE}


@feed(Ops.throughput, every=1)
def ops_throughput() -> dict[str, int]:
    return {"done": 40, "failed": 2}


@feed(Ops.slowest, every=5)
def ops_slowest() -> list[dict[str, object]]:
    return [{"job": "nightly-report", "seconds": 812}, {"job": "resize <images>", "seconds": 95}]
