"""In-process cost of one SSE connect as Pushpin makes it (signed request to
/events/<channel>/), through the whole middleware stack, beside a view that
only answers the hold headers. No sockets: this isolates Django's share.

    python bench/connect_cost.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="connect-cost-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DASHBOARDS_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'db.sqlite3'}"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.urls"
    import jwt
    from django.core.management import call_command
    from django.test import Client
    from gripcontrol import parse_grip_uri

    call_command("migrate", verbosity=0)
    from dashboards_live.contract import Event
    from dashboards_live.publishing.storage import EventStore

    EventStore().append([Event("demo", "sse_stat", "x")])
    key = parse_grip_uri(settings.GRIP_URL)["key"]
    sig = jwt.encode({"iss": "pushpin", "exp": int(time.time()) + 3600}, key, algorithm="HS256")
    client = Client()

    def per_request_us(path: str) -> float:
        response = client.get(path, HTTP_GRIP_SIG=sig, secure=True)
        assert response.status_code == 200 and response["Grip-Hold"] == "stream", response.content
        began = time.perf_counter()
        for _ in range(args.requests):
            client.get(path, HTTP_GRIP_SIG=sig, secure=True)
        return float((time.perf_counter() - began) / args.requests * 1e6)

    results: dict[str, list[float]] = {"events view": [], "hold-only view": []}
    for _ in range(args.rounds):
        results["events view"].append(per_request_us("/events/demo/"))
        results["hold-only view"].append(per_request_us("/bench-hold/"))
    print("| path | median us/connect | min | max |")
    print("|---|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} |")
    ratio = statistics.median(results["events view"]) / statistics.median(results["hold-only view"])
    print(f"events view costs {ratio:.1f}x the hold-only view")
    return 0


if __name__ == "__main__":
    sys.exit(main())
