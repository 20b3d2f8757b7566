"""Ray 2.58's figures for the rows of wray's `npm run bench`, with the same
names and the same method (the median of 5 after a warm-up), written from
Ray's documented API (ray.remote, ray.get, ray.put, actors). Prints one
JSON object per row: {"name", "value", "unit"}. Run by bench/peers/ray.sh.

    python ray_rows.py [--filter TEXT]
"""
import json
import math
import os
import statistics
import sys
import time

T_START = time.perf_counter()
import ray  # noqa: E402  (cold start counts the import)

FILTER = sys.argv[sys.argv.index("--filter") + 1] if "--filter" in sys.argv else ""
REPS = int(os.environ.get("WRAY_BENCH_REPS", "5"))


def wants(name):
    return not FILTER or any(f in name for f in FILTER.split("|"))


def report(name, value, unit):
    print(json.dumps({"name": name, "value": float(f"{value:.4g}"), "unit": unit}), flush=True)


def row(name, unit, fn, warmups=1):
    if not wants(name):
        return
    for _ in range(warmups):
        fn()
    report(name, statistics.median(fn() for _ in range(REPS)), unit)


@ray.remote
def noop():
    return None


def sync_tasks(n):
    """µs per no-op task, each got before the next is submitted."""
    t0 = time.perf_counter()
    for _ in range(n):
        ray.get(noop.remote())
    return (time.perf_counter() - t0) * 1e6 / n


def async_tasks(n):
    """No-op tasks per second: n submitted, then one get of all."""
    t0 = time.perf_counter()
    ray.get([noop.remote() for _ in range(n)])
    return n / (time.perf_counter() - t0)


@ray.remote
class Actor:
    def noop(self):
        return None


def pendulum(steps, seed):
    """bench/guests/pendulum.ts's arithmetic (a 3-16-1 tanh policy on a pendulum), in Python."""
    s = seed & 0xFFFFFFFF

    def rnd():
        nonlocal s
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        return s / 4294967296.0 - 0.5

    w1 = [rnd() for _ in range(48)]
    b1 = [rnd() for _ in range(16)]
    w2 = [rnd() for _ in range(16)]
    b2 = rnd()
    th = rnd() * 2 * math.pi
    thdot = rnd() * 2
    total = 0.0
    for _ in range(steps):
        c, sn = math.cos(th), math.sin(th)
        a = b2
        for j in range(16):
            a += w2[j] * math.tanh(w1[j * 3] * c + w1[j * 3 + 1] * sn + w1[j * 3 + 2] * thdot + b1[j])
        u = max(-2.0, min(2.0, 2 * math.tanh(a)))
        an = math.fmod(math.fmod(th + math.pi, 2 * math.pi) + 2 * math.pi, 2 * math.pi) - math.pi
        total -= an * an + 0.1 * thdot * thdot + 0.001 * u * u
        thdot = max(-8.0, min(8.0, thdot + (15 * sn + 3 * u) * 0.05))
        th += thdot * 0.05
    return total


@ray.remote
def pendulum_task(steps, seed):
    return pendulum(steps, seed)


def main():
    cpus = os.cpu_count() or 1
    # address="local": always a cluster of its own, never one a killed run left on record
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level="ERROR")
    ray.get(noop.remote())
    if wants("driver start to first result"):
        report("driver start to first result", (time.perf_counter() - T_START) * 1000, "ms")

    row("single client tasks sync", "us", lambda: sync_tasks(200))
    row("single client tasks async", "tasks/s", lambda: async_tasks(2000))

    def tasks_get_batch():
        t0 = time.perf_counter()
        for _ in range(5):
            ray.get([noop.remote() for _ in range(1000)])
        return 5000 / (time.perf_counter() - t0)

    row("single client tasks and get batch", "tasks/s", tasks_get_batch)

    def put_calls():
        t0 = time.perf_counter()
        keep = [ray.put(i) for i in range(10000)]
        rate = len(keep) / (time.perf_counter() - t0)
        del keep
        return rate

    row("single client put calls", "calls/s", put_calls)
    small = [ray.put(i) for i in range(10000)]

    def get_calls():
        t0 = time.perf_counter()
        for r in small:
            ray.get(r)
        return len(small) / (time.perf_counter() - t0)

    row("single client get calls", "calls/s", get_calls)
    del small

    if wants("single client put gigabytes") or wants("single client get gigabytes"):
        import numpy as np

        data = np.full(1 << 30, 3, dtype=np.uint8)
        held = {}

        def put_gb():
            held.pop("ref", None)
            t0 = time.perf_counter()
            held["ref"] = ray.put(data)
            return 1 / (time.perf_counter() - t0)

        row("single client put gigabytes", "GB/s", put_gb)
        if "ref" not in held:
            held["ref"] = ray.put(data)
        dst = np.empty_like(data)
        dst.fill(0)

        view_us = []

        def get_gb():
            # as wray's row: get (Ray: a zero-copy view of the store for numpy), then one copy into a touched buffer
            t0 = time.perf_counter()
            v = ray.get(held["ref"])
            t1 = time.perf_counter()
            np.copyto(dst, v)
            view_us.append((t1 - t0) * 1e6)
            return 1 / (time.perf_counter() - t0)

        row("single client get gigabytes", "GB/s", get_gb)
        if view_us:
            # the get alone of the row above (its timed repetitions)
            report("single client get 1 GiB view", statistics.median(view_us[-REPS:]), "us")
        held.clear()
        del data, dst

    a = Actor.remote()
    ray.get(a.noop.remote())

    def sync_calls():
        t0 = time.perf_counter()
        for _ in range(500):
            ray.get(a.noop.remote())
        return (time.perf_counter() - t0) * 1e6 / 500

    def async_calls():
        t0 = time.perf_counter()
        ray.get([a.noop.remote() for _ in range(5000)])
        return 5000 / (time.perf_counter() - t0)

    row("1:1 actor calls sync", "us", sync_calls)
    row("1:1 actor calls async", "calls/s", async_calls)

    if wants("1:1 actor calls concurrent"):
        c = Actor.options(max_concurrency=16).remote()
        ray.get(c.noop.remote())

        def concurrent_calls():
            t0 = time.perf_counter()
            ray.get([c.noop.remote() for _ in range(5000)])
            return 5000 / (time.perf_counter() - t0)

        row("1:1 actor calls concurrent", "calls/s", concurrent_calls)
        ray.kill(c)

    if wants("1:n actor calls async"):
        many = [Actor.remote() for _ in range(4)]
        ray.get([m.noop.remote() for m in many])

        def one_to_n():
            t0 = time.perf_counter()
            ray.get([many[i & 3].noop.remote() for i in range(5000)])
            return 5000 / (time.perf_counter() - t0)

        row("1:n actor calls async", "calls/s", one_to_n)
        for m in many:
            ray.kill(m)

    if wants("n:n actor calls async"):
        pair = [Actor.remote() for _ in range(2)]
        ray.get([m.noop.remote() for m in pair])

        @ray.remote
        def caller(actor, m):
            ray.get([actor.noop.remote() for _ in range(m)])

        def n_to_n():
            m = 2000
            t0 = time.perf_counter()
            ray.get([caller.remote(x, m) for x in pair])
            return 2 * m / (time.perf_counter() - t0)

        row("n:n actor calls async", "calls/s", n_to_n)
        for m in pair:
            ray.kill(m)

    # COST: 2,000 tasks of a fixed amount of work each (calibrated to 1 ms / 100 us on one thread) on all CPUs.
    # As in wray's bench: one thread's work is measured pinned to each CPU in turn, half of its share before
    # the tasks and half after, and is what the CPUs together take for the calls, times the CPUs.
    pins = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_setaffinity") else None
    if pins is not None and len(pins) != cpus:
        pins = None
    for label, target in (("1 ms", 1.0), ("100 us", 0.1)):
        name = f"fan-out {label} tasks efficiency"
        if not wants(name):
            continue
        steps = 100
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(20):
                pendulum(steps, 7)
            steps = max(1, round(steps * target / ((time.perf_counter() - t0) * 1000 / 20)))
        ray.get([pendulum_task.remote(steps, 7) for _ in range(200)])
        share = math.ceil(2000 / len(pins or [0]) / 2)

        def per_call():
            """Seconds per call on each CPU (one entry, unpinned, without pins)."""
            times = []
            for c in pins or [None]:
                if c is not None:
                    os.sched_setaffinity(0, {c})
                t0 = time.perf_counter()
                for _ in range(share):
                    pendulum(steps, 7)
                times.append((time.perf_counter() - t0) / share)
            if pins is not None:
                os.sched_setaffinity(0, set(pins))
            return times

        effs = []
        for _ in range(REPS):
            before = per_call()
            t0 = time.perf_counter()
            ray.get([pendulum_task.remote(steps, 7) for _ in range(2000)])
            wall = time.perf_counter() - t0
            after = per_call()
            times = [(a + b) / 2 for a, b in zip(before, after)]
            work = cpus * 2000 / sum(1 / t for t in times) if pins is not None else 2000 * times[0]
            effs.append(work / cpus / wall)
        report(name, statistics.median(effs), "ratio")
    ray.shutdown()
    cross_host()


def cross_host():
    """wray's cluster rows: a head with no CPUs and two worker nodes (ray.cluster_utils.Cluster: real raylets, on this machine)."""
    names = ("cross-host tasks sync", "cross-host tasks async", "cross-host get gigabytes")
    if not any(wants(n) for n in names):
        return
    from ray.cluster_utils import Cluster

    # stores large enough for the gigabytes row without spilling (as wray's hosts, 30% of RAM)
    store = 4 << 30
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False, "object_store_memory": store})
    for _ in range(2):
        cluster.add_node(num_cpus=1, object_store_memory=store)
    try:
        ray.init(address=cluster.address, logging_level="ERROR")
        cluster.wait_for_nodes()
        ray.get([noop.remote() for _ in range(500)])
        row("cross-host tasks sync", "us", lambda: sync_tasks(200))
        # wray's row submits 50k; at Ray's rate that is half a minute a repetition, so 5k here
        row("cross-host tasks async", "tasks/s", lambda: async_tasks(5000))
        if wants("cross-host get gigabytes"):
            import numpy as np

            @ray.remote
            def zeros(n):
                return np.zeros(n, dtype=np.uint8)

            def get_gb():
                # as wray's row: 4 x 256 MiB made on the worker nodes, then pulled into the driver
                refs = [zeros.remote(256 << 20) for _ in range(4)]
                ray.wait(refs, num_returns=4, fetch_local=False)
                t0 = time.perf_counter()
                vals = ray.get(refs)
                s = time.perf_counter() - t0
                assert all(len(v) == 256 << 20 for v in vals)
                del vals
                return 1 / s

            row("cross-host get gigabytes", "GB/s", get_gb, warmups=2)
        ray.shutdown()
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
