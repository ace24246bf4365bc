"""Fan-out: N SSE clients through one or more Pushpins, one event a second.

    python bench/fanout.py                 # N = 1k, 5k, 10k, 50k; one and two Pushpins; ~45 min with --restart
    python bench/fanout.py --clients 200 --duration 5 --pushpins 1 --smoke   # what CI runs

For each N and each number of Pushpin instances it runs, in one go and on the
same box: the shipped pushpin.conf in front of Django; the same Pushpins in
front of bench/django_hold.py, the project's stream handler and middleware with
a view that only answers the hold headers (the least Django can do per
connect); and in front of bench/raw_hold.py, a backend that does nothing but
answer those headers (the most this box can admit). --configs adds Pushpin's stock
message_rate/message_hwm ("stock") and django-eventstream's per-delivery
filters ("filters"). The web process is gunicorn with 2 workers, as the
README's production section runs it, warmed up before anything is counted.
Several Pushpins share that Django; clients are spread over their ports and
every event is posted to each (DASHBOARDS_PUBLISH_URLS).

The box's limits come first: this process raises its open-file limit to the
hard limit (Pushpin and the client processes inherit it), and N is split so no
process holds more connections than that allows: N = 50,000 needs at least
three Pushpins (and client processes) under a hard limit of 20,000 files.

Every event is a real Stat fragment with a sequence marker; clients record
when each arrives, so latency is publish call to receipt. The clients first
sit idle for IDLE seconds, and the table counts the requests Pushpin makes to
Django by itself (next links, recoveries: zurl's "IN" lines for `link=next`
URLs) per client, idle and while events flow, and in brackets the held streams
their answers reached (the handler's "GET" lines: one answer serves many). CPU
is measured per phase and per process group (Pushpin, Django, the clients),
and memory per held connection is the growth of Pushpin's and Django's RSS
from before the connects to after them.
A row is marked "saturated" when the box's two cores were over 90% busy in its
connect or event phase: its figures then bound the harness as much as the code.

--restart adds, after the events of each shipped row, a restart of every
Pushpin (clients reconnect with their Last-Event-ID, as EventSource does) and
then of the publisher (a new process publishing), and counts Django requests
per client for each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import re
import resource
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import pushpinlog  # noqa: E402
from tests.support.pushpinlog import HandlerRequests  # noqa: E402

SEQ = re.compile(rb"seq=(\d+);")
EVENT_ID = re.compile(rb"^id: (.+)$", re.M)
# the web process of each config: the project, or a bench backend in its place
WSGI_APPS = {"raw-hold": "bench.raw_hold:app", "django-hold": "bench.django_hold:app"}
STOCK = {("handler", "message_rate"): "2500", ("handler", "message_hwm"): "25000"}
IDLE = 5.0  # seconds the clients sit connected with no event, before the events
SPARE_FILES = 1000  # files a process keeps for everything but client connections
BUSY = 0.90  # a phase with the box busier than this marks its row saturated


# -- client processes --------------------------------------------------------
@dataclass
class ClientState:
    opened: list[float] = field(default_factory=list)
    arrivals: dict[int, list[float]] = field(default_factory=dict)
    live: int = 0
    reconnects: int = 0


async def _client(
    port: int, path: str, gate: asyncio.Semaphore, state: ClientState, stop: asyncio.Event, host: str
) -> None:
    last_id: bytes | None = None
    first = True
    while not stop.is_set():
        async with gate:
            reader = writer = None
            for _attempt in range(600):
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(host, 0))
                except OSError:
                    await asyncio.sleep(0.1)
                    continue
                resume = b"Last-Event-ID: " + last_id + b"\r\n" if last_id else b""
                writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n".encode()
                    + resume
                    + b"\r\n"
                )
                buf = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in buf or (first and b"stream-open" not in buf):
                        chunk = await reader.read(65536)
                        if not chunk or (buf + chunk).startswith(b"HTTP/1.1 5"):
                            buf = b""
                            break
                        buf += chunk
                if buf:
                    break
                writer.close()  # refused (a 5xx while Pushpin starts, say): again, as EventSource would
                reader = writer = None
                await asyncio.sleep(0.1)
        if reader is None or writer is None:
            return
        if first:
            state.opened.append(time.monotonic())
            first = False
        else:
            state.reconnects += 1
        state.live += 1
        try:
            buf = buf.partition(b"\r\n\r\n")[2]
            while not stop.is_set():
                *events, buf = buf.split(b"\n\n")
                now = time.monotonic()
                for event in events:
                    match = SEQ.search(event)
                    if match:
                        state.arrivals.setdefault(int(match.group(1)), []).append(now)
                    ident = EVENT_ID.search(event)
                    if ident:
                        last_id = ident.group(1)
                chunk = await reader.read(65536)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
        finally:
            state.live -= 1
            writer.close()
        if not stop.is_set():
            await asyncio.sleep(0.2)  # the stream ended: reconnect after a moment, as EventSource does


def client_process(targets: list[tuple[int, str]], path: str, in_flight: int, conn: Any) -> None:
    """Hold one SSE client per (port, source address) in `targets`; answer the parent's commands."""

    async def main() -> None:
        gate = asyncio.Semaphore(in_flight)
        stop = asyncio.Event()
        state = ClientState()
        loop = asyncio.get_running_loop()
        tasks = [asyncio.create_task(_client(port, path, gate, state, stop, host)) for port, host in targets]
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "status":
                conn.send((len(state.opened), state.live, state.reconnects, _cpu()))
            elif command == "stop":
                break
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        conn.send((state.opened, state.arrivals, state.reconnects, _cpu()))

    asyncio.run(main())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clients:
    """The client processes of one row, spread over the Pushpins' ports."""

    def __init__(self, ports: list[int], n: int, procs: int, in_flight: int) -> None:
        self.pipes: list[Any] = []
        self.workers: list[Any] = []
        # one source address per ~20,000 connections to a port: a (source,
        # destination) pair has only the kernel's ephemeral port range
        targets = [(ports[i % len(ports)], f"127.0.0.{2 + i // 20000}") for i in range(n)]
        for k in range(procs):
            parent, child = mp.Pipe()
            proc = mp.Process(
                target=client_process,
                args=(targets[k::procs], "/events/demo/", max(1, in_flight // procs), child),
                daemon=True,
            )
            proc.start()
            self.pipes.append(parent)
            self.workers.append(proc)

    def status(self) -> tuple[int, int, int, float]:
        for p in self.pipes:
            p.send("status")
        replies = [p.recv() for p in self.pipes]
        return (
            sum(r[0] for r in replies),
            sum(r[1] for r in replies),
            sum(r[2] for r in replies),
            sum(r[3] for r in replies),
        )

    def wait(self, done: Any, timeout: float) -> tuple[int, int, int, float]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if done(status) or time.monotonic() > deadline:
                return status
            time.sleep(0.2)

    def finish(self) -> tuple[list[float], dict[int, list[float]], int, float]:
        for p in self.pipes:
            p.send("stop")
        opened: list[float] = []
        arrivals: dict[int, list[float]] = {}
        reconnects, cpu = 0, 0.0
        for p in self.pipes:
            o, a, r, c = p.recv()
            opened += o
            reconnects += r
            cpu += c
            for seq, times in a.items():
                arrivals.setdefault(seq, []).extend(times)
        for w in self.workers:
            w.join(10)
        return opened, arrivals, reconnects, cpu


# -- measuring processes -----------------------------------------------------
class Sampler(threading.Thread):
    """RSS (now and peak) and CPU seconds of some process trees (the Pushpins, or gunicorn)."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        import psutil

        self.roots = [psutil.Process(pid) for pid in pids]
        self.peak_rss = 0
        self.running = True

    def tree(self) -> list[Any]:
        out = []
        for root in self.roots:
            with contextlib.suppress(Exception):
                out += [root, *root.children(recursive=True)]
        return out

    def cpu(self) -> float:
        total = 0.0
        for p in self.tree():
            with contextlib.suppress(Exception):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def rss(self) -> int:
        total = 0
        for p in self.tree():
            with contextlib.suppress(Exception):
                total += p.memory_info().rss
        return total

    def run(self) -> None:
        while self.running:
            self.peak_rss = max(self.peak_rss, self.rss())
            time.sleep(0.5)


def box_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole box so far."""
    import psutil

    t = psutil.cpu_times()
    total = sum(t)
    return total - t.idle - getattr(t, "iowait", 0.0), total


def busy_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    return (b[0] - a[0]) / (b[1] - a[1]) if b[1] > a[1] else float("nan")


@dataclass
class Row:
    config: str
    clients: int
    pushpins: int
    opened: int
    connect_s: float
    delivered_pct: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    pushpin_rss_mb: float
    web_rss_mb: float
    kb_per_conn: float
    pushpin_kb_per_conn: float
    pushpin_ms_per_connect: float
    web_ms_per_connect: float
    client_ms_per_connect: float
    pushpin_ms_per_1k: float
    client_ms_per_1k: float
    busy_connect: float
    busy_events: float
    connect_requests: HandlerRequests = pushpinlog.NONE  # Pushpin's own requests to Django while clients connected
    idle_requests: HandlerRequests = pushpinlog.NONE  # ... while the clients then sat idle
    event_requests: HandlerRequests = pushpinlog.NONE  # ... while events flowed
    restart: dict[str, float] = field(default_factory=dict)

    @property
    def connects_per_s(self) -> float:
        return self.opened / self.connect_s if self.connect_s > 0 else float("nan")

    @property
    def saturated(self) -> bool:
        return max(self.busy_connect, self.busy_events) > BUSY

    def per_client(self, requests: float) -> float:
        return requests / self.opened if self.opened else float("nan")

    def requests_per_client(self, made: HandlerRequests) -> str:
        """Django requests per client, and in brackets the held streams their answers reached."""
        return f"{self.per_client(made.requests):.2f} ({self.per_client(made.streams):.2f})"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def warm_web(stack: Any, workers: Sampler) -> None:
    """Until every gunicorn worker has loaded the app and the web tree is quiet: boot is not admission."""
    for _ in range(4 * stack.web_workers):
        with contextlib.suppress(Exception):
            urllib.request.urlopen(stack.web_url("/login/"), timeout=10).read()
    before = workers.cpu()
    while True:
        time.sleep(0.5)
        now = workers.cpu()
        if now - before < 0.02:
            return
        before = now


def make_stat_event(seq: int) -> Any:
    from dashboards_live.contract import make_event
    from dashboards_live.declaring.components import Stat

    html = Stat("sse_stat", title="CPU load").render(
        {"text": f"{seq % 100}.0%", "sub_text": "demo CPU load", "change": 1.5}
    )
    return make_event("demo", "sse_stat", html + f"<!--seq={seq};-->")


class Fleet:
    """The row's Pushpins: the stack's own, and more with their own ports in front of the same Django."""

    def __init__(self, stack: Any, extra: list[Any]) -> None:
        self.stack = stack
        self.extra = extra

    @property
    def all(self) -> list[Any]:
        return [self.stack, *self.extra]

    def start(self) -> None:
        for s in self.all:
            s.web_port, s.web = self.stack.web_port, self.stack.web
            s.pushpin_overrides = self.stack.pushpin_overrides
            s.start_pushpin()

    def stop(self) -> None:
        for s in self.all:
            s.stop_pushpin()

    @property
    def pids(self) -> list[int]:
        return [s.pushpin.pid for s in self.all]

    @property
    def logs(self) -> list[Path]:
        return [s.base / "pushpin.log" for s in self.all]


def run_row(fleet: Fleet, publisher: Any, config: str, n: int, args: argparse.Namespace, procs: int) -> Row:
    stack = fleet.stack
    stack.start_web()
    web = Sampler([stack.web.pid])
    warm_web(stack, web)
    fleet.start()
    pushpin = Sampler(fleet.pids)
    pushpin.start()
    web.start()
    time.sleep(1.0)
    rss0 = (pushpin.rss(), web.rss())
    cpu0 = (pushpin.cpu(), web.cpu())
    box0 = box_busy()

    requests0 = pushpinlog.read(fleet.logs)
    clients = Clients([s.client_port for s in fleet.all], n, procs, args.in_flight)
    began = time.monotonic()
    opened, _live, _, client_cpu_open = clients.wait(lambda s: s[0] >= n, timeout=max(120.0, n / 50))
    connect_s = time.monotonic() - began
    cpu1 = (pushpin.cpu(), web.cpu())
    box1 = box_busy()

    # Pushpin's own requests to Django during the connects (and the second after,
    # when it updates every session of a channel it has just subscribed to)
    time.sleep(1.5)
    idle_from = pushpinlog.read(fleet.logs)
    connect_requests = idle_from - requests0
    time.sleep(IDLE)
    idle = pushpinlog.read(fleet.logs) - idle_from
    rss1 = (pushpin.rss(), web.rss())
    _, _, _, client_cpu_idle = clients.status()
    cpu2 = (pushpin.cpu(), web.cpu())
    box2 = box_busy()

    sent: dict[int, float] = {}
    start = time.monotonic()
    total = int(args.duration * args.rate)
    for seq in range(total):
        due = start + seq / args.rate
        time.sleep(max(0.0, due - time.monotonic()))
        event = make_stat_event(seq)
        sent[seq] = time.monotonic()
        publisher.publish([event])
    time.sleep(2.0)  # let the last event reach everyone
    during = pushpinlog.read(fleet.logs) - idle_from - idle
    _, _, _, client_cpu_events = clients.status()
    cpu3 = (pushpin.cpu(), web.cpu())
    box3 = box_busy()

    restart: dict[str, float] = {}
    if args.restart and config == "shipped":
        restart = restart_phases(fleet, clients, publisher, opened, total)

    _, arrivals, _, _ = clients.finish()
    latencies: list[float] = []
    received = 0
    for seq, times in arrivals.items():
        if seq in sent:
            received += len(times)
            latencies.extend((t - sent[seq]) * 1000 for t in times)
    pushpin.running = web.running = False
    p_rss, w_rss = pushpin.peak_rss / 2**20, web.peak_rss / 2**20
    fleet.stop()
    stack.stop_web()
    expected = opened * total
    deliveries = max(received, 1)
    return Row(
        config=config,
        clients=n,
        pushpins=len(fleet.all),
        opened=opened,
        connect_s=connect_s,
        delivered_pct=100.0 * received / expected if expected else 0.0,
        p50_ms=pct(latencies, 0.5),
        p99_ms=pct(latencies, 0.99),
        max_ms=max(latencies) if latencies else float("nan"),
        pushpin_rss_mb=p_rss,
        web_rss_mb=w_rss,
        kb_per_conn=(sum(rss1) - sum(rss0)) / 1024 / max(opened, 1),
        pushpin_kb_per_conn=(rss1[0] - rss0[0]) / 1024 / max(opened, 1),
        pushpin_ms_per_connect=1000 * (cpu1[0] - cpu0[0]) / max(opened, 1),
        web_ms_per_connect=1000 * (cpu1[1] - cpu0[1]) / max(opened, 1),
        client_ms_per_connect=1000 * client_cpu_open / max(opened, 1),
        pushpin_ms_per_1k=1e6 * (cpu3[0] - cpu2[0]) / deliveries if received else float("nan"),
        client_ms_per_1k=1e6 * (client_cpu_events - client_cpu_idle) / deliveries if received else float("nan"),
        busy_connect=busy_between(box0, box1),
        busy_events=busy_between(box2, box3),
        connect_requests=connect_requests,
        idle_requests=idle,
        event_requests=during,
        restart=restart,
    )


def restart_phases(fleet: Fleet, clients: Clients, publisher: Any, opened: int, first_seq: int) -> dict[str, float]:
    """Restart every Pushpin, then the publisher; Django requests per client for each, and delivery after."""
    out: dict[str, float] = {}
    before = pushpinlog.read(fleet.logs)
    _, _, reconnects0, _ = clients.status()
    for s in fleet.all:
        s.stop_pushpin()
    fleet.start()
    began = time.monotonic()
    _, _, reconnects, _ = clients.wait(lambda s: s[1] >= opened and s[2] - reconnects0 >= opened, timeout=300)
    out["readmit_s"] = time.monotonic() - began
    time.sleep(2.0)
    made = pushpinlog.read(fleet.logs) - before
    out["pushpin_restart_req"] = made.requests / max(opened, 1)
    out["pushpin_restart_streams"] = made.streams / max(opened, 1)
    out["reconnected"] = reconnects - reconnects0

    # the publisher: a new process (as a restarted runeventloop is) publishes the next events
    before = pushpinlog.read(fleet.logs)
    datas = [make_stat_event(first_seq + i).data for i in range(3)]
    fleet.stack.publish("demo", "sse_stat", datas, interval=1.0)
    time.sleep(2.0)
    made = pushpinlog.read(fleet.logs) - before
    out["publisher_restart_req"] = made.requests / max(opened, 1)
    out["publisher_restart_streams"] = made.streams / max(opened, 1)
    return out


# -- the table -----------------------------------------------------------------
def print_table(rows: list[Row]) -> None:
    head = (
        "config",
        "N",
        "open",
        "connect s",
        "conn/s",
        "delivered",
        "pushpins",
        "p50 ms",
        "p99 ms",
        "max ms",
        "pushpin MB",
        "django MB",
        "KB/conn",
        "of it Pushpin",
        "cpu ms/connect pushpin",
        "django",
        "clients",
        "cpu ms/1k deliveries pushpin",
        "clients",
        "box busy connect",
        "events",
        "origin req/client (streams) connect",
        "idle",
        "events",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        mark = " (saturated)" if r.saturated else ""
        print(
            f"| {r.config}{mark} | {r.clients} | {r.opened} | {r.connect_s:.1f} | {r.connects_per_s:.0f} | "
            f"{r.delivered_pct:.1f}% | {r.pushpins} | {r.p50_ms:.0f} | {r.p99_ms:.0f} | {r.max_ms:.0f} | "
            f"{r.pushpin_rss_mb:.0f} | {r.web_rss_mb:.0f} | {r.kb_per_conn:.1f} | {r.pushpin_kb_per_conn:.1f} | "
            f"{r.pushpin_ms_per_connect:.2f} | {r.web_ms_per_connect:.2f} | {r.client_ms_per_connect:.2f} | "
            f"{r.pushpin_ms_per_1k:.0f} | {r.client_ms_per_1k:.0f} | {r.busy_connect:.0%} | {r.busy_events:.0%} | "
            f"{r.requests_per_client(r.connect_requests)} | {r.requests_per_client(r.idle_requests)} | "
            f"{r.requests_per_client(r.event_requests)} |"
        )
    restarts = [r for r in rows if r.restart]
    if restarts:
        print()
        print(
            "| N | pushpins | readmit s | clients back | Pushpin restart: django req/client (reconnect + Pushpin's "
            "own) | of which Pushpin's own (streams) | publisher restart: django req/client (streams) |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in restarts:
            x = r.restart
            total = r.per_client(x["reconnected"]) + x["pushpin_restart_req"]
            print(
                f"| {r.clients} | {r.pushpins} | {x['readmit_s']:.1f} | {x['reconnected']:.0f} | {total:.2f} | "
                f"{x['pushpin_restart_req']:.2f} ({x['pushpin_restart_streams']:.2f}) | "
                f"{x['publisher_restart_req']:.2f} ({x['publisher_restart_streams']:.2f}) |"
            )
    sys.stdout.flush()


def needed_pushpins(n: int, files: int) -> int:
    return max(1, math.ceil(n / (files - SPARE_FILES)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000, 10000, 50000])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of events per row")
    parser.add_argument("--rate", type=float, default=1.0, help="events per second")
    parser.add_argument(
        "--pushpins",
        type=int,
        nargs="+",
        default=[1, 2],
        help="Pushpin instances per row (raised to what the open-file limit needs for N)",
    )
    parser.add_argument("--client-procs", type=int, default=2, help="at least; raised to what N needs")
    parser.add_argument("--in-flight", type=int, default=32, help="connects in flight at once")
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["shipped", "django-hold", "raw-hold"],
        choices=["shipped", "filters", "stock", "django-hold", "raw-hold"],
        help="filters: the shipped config with DASHBOARDS_SHARED_FRAMES=0 (django-eventstream's items, "
        "build-id and skip-users run in Pushpin for every delivery); django-hold: the project's stream "
        "handler and middleware in front of a view that only answers the hold headers (Django's floor)",
    )
    parser.add_argument("--restart", action="store_true", help="restart Pushpin, then the publisher (shipped rows)")
    parser.add_argument("--smoke", action="store_true", help="exit 1 unless every shipped row delivered 100%%")
    args = parser.parse_args()

    # stop cleanly (and stop Pushpin and gunicorn) when killed by `timeout`
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    from tests.support.stack import Stack

    base = Path(tempfile.mkdtemp(prefix="fanout-"))
    # Django as in production: with DEBUG on, every query goes through the debug cursor
    stack = Stack(base).production()
    most = max(max(needed_pushpins(n, hard), k) for n in args.clients for k in args.pushpins)
    extra = [Stack(base / f"pushpin-{i + 2}", sig_key=stack.sig_key) for i in range(most - 1)]
    os.environ.update(stack.env)
    import django

    django.setup()
    from dashboards_live.conf import Target
    from dashboards_live.publishing.delivery import DeliveryEngine
    from dashboards_live.publishing.storage import EventStore
    from dashboards_live.publishing.transport import Transport

    store = EventStore()
    grip_urls = [s.env["GRIP_URL"] for s in (stack, *extra)]

    def engine(pushpins: int, shared: bool) -> DeliveryEngine:
        targets = [Target.from_grip_url(url) for url in grip_urls[:pushpins]]
        return DeliveryEngine(store, Transport(targets, 5.0), shared=shared)

    rows: list[Row] = []
    print(
        f"fanout: {os.cpu_count()} cores, open-file limit {hard} per process, {args.duration:g} s at "
        f"{args.rate:g} ev/s, gunicorn -w {stack.web_workers}, {args.in_flight} connects in flight",
        flush=True,
    )
    try:
        for n in args.clients:
            for k in sorted({max(k, needed_pushpins(n, hard)) for k in args.pushpins}):
                procs = max(args.client_procs, math.ceil(n / (hard - SPARE_FILES)))
                fleet = Fleet(stack, extra[: k - 1])
                # the publisher (and the web process, for revocation kicks) posts to every instance
                stack.env["DASHBOARDS_PUBLISH_URLS"] = ",".join(grip_urls[1:k])
                for config in args.configs:
                    stack.pushpin_overrides = dict(STOCK) if config == "stock" else {}
                    stack.wsgi_app = WSGI_APPS.get(config, "config.wsgi")
                    stack.env["DASHBOARDS_SHARED_FRAMES"] = "0" if config == "filters" else "1"
                    publisher = engine(k, shared=config != "filters")
                    rows.append(run_row(fleet, publisher, config, n, args, procs))
                    publisher.transport.close()
                    r = rows[-1]
                    print(
                        f"  {r.config} N={r.clients} x{r.pushpins} Pushpin: {r.opened} open in {r.connect_s:.1f} s, "
                        f"{r.delivered_pct:.1f}% delivered, p99 {r.p99_ms:.0f} ms"
                        + (f", restart {r.restart}" if r.restart else ""),
                        flush=True,
                    )
    finally:
        for s in extra:
            s.web = None  # the first stack owns it
            s.close()
        stack.close()
    print()
    print_table(rows)
    for r in rows:
        if r.config not in ("shipped", "django-hold"):
            continue
        raw = [x for x in rows if x.config == "raw-hold" and (x.clients, x.pushpins) == (r.clients, r.pushpins)]
        if raw:
            print(
                f"N={r.clients} x{r.pushpins} Pushpin: admission through {r.config} = "
                f"{r.connects_per_s / raw[0].connects_per_s:.0%} of the raw hold backend "
                f"({r.connects_per_s:.0f}/s vs {raw[0].connects_per_s:.0f}/s)"
            )
    if args.smoke:
        bad = [r for r in rows if r.config == "shipped" and (r.delivered_pct < 100.0 or r.opened < r.clients)]
        if bad:
            print(f"SMOKE FAILED: {bad}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
