"""Replay cost: a client sending `Last-Event-ID: <channel>:0` against a long stored history.

    python bench/replay.py                        # 100,000 events on 5 components, SQLite
    python bench/replay.py --database postgres    # the same on a throwaway PostgreSQL
    python bench/replay.py --events 20000 --rounds 1

Real Pushpin and gunicorn (one worker, the README's production settings) in
front of one stored history, written in a few statements. Each row connects
an SSE client with that id and waits for the channel's newest event:
"stock" runs django-eventstream's own storage (DjangoModelStorage: every event
since the id, 100 per request, Pushpin following the next link for each
page); "compacted" the app's (the newest event of each whole-state
component). Django requests are the client's connect plus the ones Pushpin
makes by itself (zurl's `link=next` lines in its log); peak memory is the
worker's peak RSS (VmHWM) after the replay, and its growth from before it
(and the same growth for Pushpin's processes together).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import pushpinlog  # noqa: E402
from tests.support.history import fill  # noqa: E402
from tests.support.sse import SSEClient  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

STORAGES = {
    "stock": "bench.stock_storage_settings",  # django-eventstream 5.3's DjangoModelStorage
    "compacted": "config.settings",
}
TIMEOUT = 300.0  # seconds a replay may take before the row is given up


@dataclass
class Result:
    requests: int
    seconds: float
    events: int
    peak_mb: float
    growth_mb: float
    pushpin_growth_mb: float
    client_mb: float


def memory(pids: list[int]) -> tuple[float, float]:
    """(RSS, peak RSS) of these processes together, in MB."""
    rss = peak = 0
    for pid in pids:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
        rss += int(fields["VmRSS"].split()[0])
        peak += int(fields["VmHWM"].split()[0])
    return rss / 1024, peak / 1024


def worker_memory(stack: Stack) -> tuple[float, float]:
    """(RSS, peak RSS) of the web process's one worker, in MB."""
    import psutil

    assert stack.web is not None
    return memory([p.pid for p in psutil.Process(stack.web.pid).children()])


def pushpin_memory(stack: Stack) -> tuple[float, float]:
    """(RSS, peak RSS) of Pushpin's processes (condure, zurl, proxy, handler), in MB."""
    import psutil

    assert stack.pushpin is not None
    return memory([p.pid for p in psutil.Process(stack.pushpin.pid).children(recursive=True)])


def replay_once(stack: Stack, channel: str, newest: int) -> Result:
    log = stack.base / "pushpin.log"
    path = f"/events/{channel}/"
    before_links = pushpinlog.read([log], path).requests
    before_connects = log.read_bytes().count(f"[proxy] GET {stack.url(path)}".encode())
    rss_before, _ = worker_memory(stack)
    pushpin_before, _ = pushpin_memory(stack)
    began = time.monotonic()
    with SSEClient(stack.url(path), headers={"Last-Event-ID": f"{channel}:0"}, timeout=TIMEOUT) as client:
        client.wait_for(lambda evs: bool(evs) and evs[-1].id == f"{channel}:{newest}", TIMEOUT)
        seconds = time.monotonic() - began
        events = [e for e in client.events if e.event not in ("stream-open", "keep-alive")]
        received = len(client.raw) / 1e6
    if not events or events[-1].id != f"{channel}:{newest}":
        raise SystemExit(f"the replay did not reach {channel}:{newest} within {TIMEOUT:.0f} s")
    time.sleep(0.5)  # Pushpin writes its log lines as it goes
    links = pushpinlog.read([log], path).requests - before_links
    connects = log.read_bytes().count(f"[proxy] GET {stack.url(path)}".encode()) - before_connects
    _, peak = worker_memory(stack)
    _, pushpin_peak = pushpin_memory(stack)
    return Result(
        connects + links, seconds, len(events), peak, peak - rss_before, pushpin_peak - pushpin_before, received
    )


def run(storage: str, database: str, events: int, rounds: int) -> list[Result]:
    base = Path(tempfile.mkdtemp(prefix=f"bench-replay-{storage}-"))
    cluster = None
    if database == "postgres":
        from tests.support.postgres import start_cluster

        cluster = start_cluster()
    stack = Stack(base, web_workers=1, database=database, cluster=cluster).production()  # type: ignore[arg-type]
    stack.env["DJANGO_SETTINGS_MODULE"] = STORAGES[storage]
    results = []
    try:
        stack.start()
        for n in range(rounds):
            channel = f"history{n}"
            fill(stack, channel, events)
            results.append(replay_once(stack, channel, events))
    finally:
        stack.close()
        if cluster is not None:
            cluster.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="stored events (default 100,000)")
    parser.add_argument("--rounds", type=int, default=3, help="replays per row, each on a fresh channel")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    if args.events < 5 or args.rounds < 1:
        print("bench/replay.py: --events is at least 5 and --rounds at least 1", file=sys.stderr)
        return 2
    rows = {storage: run(storage, args.database, args.events, args.rounds) for storage in STORAGES}
    print(
        f"Last-Event-ID <channel>:0 against {args.events:,} stored events on 5 components ({args.database}, "
        f"median of {args.rounds})"
    )
    print(
        "| storage | Django requests | seconds to the newest | events received | MB received "
        "| worker peak RSS MB | growth MB | Pushpin growth MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for storage, results in rows.items():
        columns = ("requests", "seconds", "events", "client_mb", "peak_mb", "growth_mb", "pushpin_growth_mb")
        formats = (".0f", ".2f", ".0f", ".2f", ".0f", ".0f", ".0f")
        cells = [
            format(statistics.median([getattr(r, column) for r in results]), spec)
            for column, spec in zip(columns, formats, strict=True)
        ]
        print(f"| {storage} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
