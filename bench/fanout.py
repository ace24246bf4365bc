"""Fan-out through one Pushpin: N SSE clients, one event a second.

    python bench/fanout.py                         # N = 1000, 5000, 10000; 60 s each
    python bench/fanout.py --clients 200 --duration 5 --smoke   # what CI runs

For each N it runs, in one go and on the same box: Pushpin with the shipped
pushpin.conf, the same with Pushpin's stock message_rate/message_hwm, and
(for connection admission) the shipped config in front of bench/raw_hold.py, a
backend that does nothing but answer the hold headers. The web process is
gunicorn with 2 workers, as the README's production section runs it. Every
event is a real Stat fragment with a sequence marker; clients record when each
arrives, so latency is publish call to receipt. The clients first sit idle for
IDLE seconds: the table counts the requests Pushpin makes to Django by itself
(next links, recoveries; its log's "[handler] GET" lines) per client, idle and
while events flow. Prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import re
import resource
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEQ = re.compile(rb"seq=(\d+);")
STOCK = {("handler", "message_rate"): "2500", ("handler", "message_hwm"): "25000"}


# -- client processes --------------------------------------------------------
async def _client(
    port: int,
    path: str,
    gate: asyncio.Semaphore,
    opened: list[float],
    arrivals: dict[int, list[float]],
    stop: asyncio.Event,
) -> None:
    async with gate:
        for _attempt in range(20):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
            buf = b""
            while b"stream-open" not in buf:
                chunk = await reader.read(65536)
                if not chunk or (buf + chunk).startswith(b"HTTP/1.1 5"):
                    buf = b""
                    break
                buf += chunk
            if buf:
                opened.append(time.monotonic())
                break
            writer.close()  # refused (e.g. a 5xx while Pushpin starts): try again, as EventSource would
            await asyncio.sleep(0.1)
        else:
            return
    buf = b""
    try:
        while not stop.is_set():
            chunk = await reader.read(65536)
            if not chunk:
                break
            now = time.monotonic()
            buf += chunk
            *events, buf = buf.split(b"\n\n")
            for event in events:
                match = SEQ.search(event)
                if match:
                    arrivals.setdefault(int(match.group(1)), []).append(now)
    finally:
        writer.close()


def client_process(port: int, path: str, count: int, in_flight: int, conn: Any) -> None:
    async def main() -> None:
        gate = asyncio.Semaphore(in_flight)
        stop = asyncio.Event()
        opened: list[float] = []
        arrivals: dict[int, list[float]] = {}
        started = time.monotonic()
        tasks = [asyncio.create_task(_client(port, path, gate, opened, arrivals, stop)) for _ in range(count)]
        while len(opened) < count and time.monotonic() - started < 120:
            await asyncio.sleep(0.05)
            if all(t.done() for t in tasks):
                break
        conn.send(("opened", started, len(opened), max(opened) if opened else started))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        conn.send(("done", arrivals, cpu.ru_utime + cpu.ru_stime))

    asyncio.run(main())


# -- measuring processes -----------------------------------------------------
class Sampler(threading.Thread):
    """Peak RSS and CPU seconds of a process tree (Pushpin or gunicorn)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.peak_rss = 0
        self.running = True
        self.cpu0 = self.cpu()

    def tree(self) -> list[Any]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except Exception:
            return []

    def cpu(self) -> float:
        total = 0.0
        for p in self.tree():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except Exception:
                pass
        return total

    def run(self) -> None:
        while self.running:
            rss = 0
            for p in self.tree():
                with contextlib.suppress(Exception):
                    rss += p.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)
            time.sleep(0.5)

    def finish(self) -> tuple[float, float]:
        self.running = False
        return self.peak_rss / 2**20, self.cpu() - self.cpu0


@dataclass
class Row:
    config: str
    clients: int
    opened: int
    connect_s: float
    connects_per_s: float
    delivered_pct: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    pushpin_rss_mb: float
    pushpin_cpu_s: float
    web_rss_mb: float
    web_cpu_s: float
    client_cpu_s: float
    deliveries: int = 0
    idle_requests: int = 0  # Pushpin's requests to Django while the clients sat idle, all clients
    event_requests: int = 0  # ... while events flowed

    def per_client(self, requests: int) -> float:
        return requests / self.opened if self.opened else float("nan")

    @property
    def pushpin_ms_per_1000(self) -> float:
        """Pushpin CPU (all its processes) per 1,000 deliveries, ms."""
        return 1e6 * self.pushpin_cpu_s / self.deliveries if self.deliveries else float("nan")


IDLE = 5.0  # seconds the clients sit connected with no event, before the events


def origin_requests(log: Path) -> int:
    """Requests Pushpin's handler made to Django so far (each logs one "[handler] GET" line)."""
    if not log.exists():
        return 0
    with log.open("rb") as f:
        return sum(1 for line in f if b"[handler] GET" in line)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_row(
    stack: Any, publisher: Any, config: str, n: int, duration: float, rate: float, procs: int, in_flight: int
) -> Row:
    from dashboards_live.components import Stat
    from dashboards_live.contract import make_event

    stack.start_web()
    stack.start_pushpin()
    pushpin, web = Sampler(stack.pushpin.pid), Sampler(stack.web.pid)
    pushpin.start()
    web.start()
    pipes, workers = [], []
    share = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    for count in share:
        parent, child = mp.Pipe()
        proc = mp.Process(
            target=client_process,
            args=(stack.client_port, "/events/demo/", count, max(1, in_flight // procs), child),
            daemon=True,
        )
        proc.start()
        pipes.append(parent)
        workers.append(proc)
    opened_msgs = [p.recv() for p in pipes]
    t0 = min(m[1] for m in opened_msgs)
    t1 = max(m[3] for m in opened_msgs)
    opened = sum(m[2] for m in opened_msgs)
    connect_s = t1 - t0

    # requests Pushpin makes to Django on its own (next links, recoveries), from its log
    log = stack.base / "pushpin.log"
    idle_from = origin_requests(log)
    time.sleep(IDLE)
    idle = origin_requests(log) - idle_from

    stat = Stat("sse_stat", title="CPU load")
    sent: dict[int, float] = {}
    start = time.monotonic()
    total = int(duration * rate)
    for seq in range(total):
        due = start + seq / rate
        time.sleep(max(0.0, due - time.monotonic()))
        html = stat.render({"text": f"{seq % 100}.0%", "sub_text": "demo CPU load", "change": 1.5})
        html += f"<!--seq={seq};-->"
        event = make_event("demo", "sse_stat", html)
        sent[seq] = time.monotonic()
        publisher.publish([event])
    time.sleep(2.0)  # let the last event reach everyone
    during = origin_requests(log) - idle_from - idle
    for p in pipes:
        p.send("stop")
    latencies: list[float] = []
    received = 0
    client_cpu = 0.0
    for p in pipes:
        _, arrivals, cpu = p.recv()
        client_cpu += cpu
        for seq, times in arrivals.items():
            if seq in sent:
                received += len(times)
                latencies.extend((t - sent[seq]) * 1000 for t in times)
    for w in workers:
        w.join(10)
    p_rss, p_cpu = pushpin.finish()
    w_rss, w_cpu = web.finish()
    stack.stop_pushpin()
    stack.stop_web()
    expected = opened * total
    return Row(
        config,
        n,
        opened,
        connect_s,
        opened / connect_s if connect_s > 0 else float("nan"),
        100.0 * received / expected if expected else 0.0,
        pct(latencies, 0.5),
        pct(latencies, 0.99),
        max(latencies) if latencies else float("nan"),
        p_rss,
        p_cpu,
        w_rss,
        w_cpu,
        client_cpu,
        received,
        idle,
        during,
    )


def print_table(rows: list[Row]) -> None:
    head = (
        "config",
        "N",
        "open",
        "connect s",
        "conn/s",
        "delivered",
        "p50 ms",
        "p99 ms",
        "max ms",
        "pushpin MB",
        "pushpin cpu s",
        "django MB",
        "django cpu s",
        "clients cpu s",
        "pushpin cpu ms / 1k deliveries",
        "origin req/client idle",
        "origin req/client events",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print(
            f"| {r.config} | {r.clients} | {r.opened} | {r.connect_s:.1f} | {r.connects_per_s:.0f} | "
            f"{r.delivered_pct:.1f}% | {r.p50_ms:.0f} | {r.p99_ms:.0f} | {r.max_ms:.0f} | "
            f"{r.pushpin_rss_mb:.0f} | {r.pushpin_cpu_s:.1f} | {r.web_rss_mb:.0f} | {r.web_cpu_s:.1f} | "
            f"{r.client_cpu_s:.1f} | {r.pushpin_ms_per_1000:.0f} | {r.per_client(r.idle_requests):.2f} | "
            f"{r.per_client(r.event_requests):.2f} |"
        )
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of events per row")
    parser.add_argument("--rate", type=float, default=1.0, help="events per second")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--in-flight", type=int, default=32, help="connects in flight at once")
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["shipped", "stock", "raw-hold"],
        choices=["shipped", "filters", "stock", "raw-hold"],
        help="filters: the shipped config with DASHBOARDS_SHARED_FRAMES=0 (django-eventstream's items, "
        "build-id and skip-users run in Pushpin for every delivery)",
    )
    parser.add_argument("--smoke", action="store_true", help="exit 1 unless every shipped row delivered 100%%")
    args = parser.parse_args()

    # stop cleanly (and stop Pushpin and gunicorn) when killed by `timeout`
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * max(args.clients) + 4096))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    from tests.support.stack import Stack

    base = Path(tempfile.mkdtemp(prefix="fanout-"))
    stack = Stack(base)
    os.environ.update(stack.env)
    import django

    django.setup()
    from dashboards_live.delivery import DeliveryEngine

    publisher = DeliveryEngine.from_settings()
    per_subscriber = DeliveryEngine(publisher.store, publisher.transport, shared=False)
    rows: list[Row] = []
    print(
        f"fanout: {os.cpu_count()} cores, open-file limit {want}, {args.duration:g} s at {args.rate:g} ev/s, "
        f"gunicorn -w {stack.web_workers}, {args.client_procs} client processes, {args.in_flight} connects in "
        f"flight",
        flush=True,
    )
    try:
        for n in args.clients:
            for config in args.configs:
                stack.pushpin_overrides = dict(STOCK) if config == "stock" else {}
                stack.wsgi_app = "bench.raw_hold:app" if config == "raw-hold" else "config.wsgi"
                stack.env["DASHBOARDS_SHARED_FRAMES"] = "0" if config == "filters" else "1"
                engine = per_subscriber if config == "filters" else publisher
                rows.append(
                    run_row(stack, engine, config, n, args.duration, args.rate, args.client_procs, args.in_flight)
                )
                r = rows[-1]
                print(
                    f"  {r.config} N={r.clients}: {r.opened} open in {r.connect_s:.1f} s, "
                    f"{r.delivered_pct:.1f}% delivered, p99 {r.p99_ms:.0f} ms",
                    flush=True,
                )
    finally:
        stack.close()
    print()
    print_table(rows)
    for n in args.clients:
        by = {r.config: r for r in rows if r.clients == n}
        if "shipped" in by and "raw-hold" in by:
            print(
                f"N={n}: admission through Django = {by['shipped'].connects_per_s / by['raw-hold'].connects_per_s:.0%}"
                f" of the raw hold backend ({by['shipped'].connects_per_s:.0f}/s vs "
                f"{by['raw-hold'].connects_per_s:.0f}/s)"
            )
    if args.smoke:
        bad = [r for r in rows if r.config == "shipped" and (r.delivered_pct < 100.0 or r.opened < r.clients)]
        if bad:
            print(f"SMOKE FAILED: {bad}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
