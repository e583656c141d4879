"""Shared by the Python peers: read the config the Node harness passes, time things, print one JSON line.

Every peer is started by bench/lib/python.mjs with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS = 2
already in its environment (set before numpy loads, which is when BLAS reads them). Inputs are the .npy files
the harness wrote from its seeded generator, so every implementation sees the same numbers.
"""
import json
import resource
import sys
import time


def config():
    return json.loads(sys.argv[1])


def emit(obj):
    print(json.dumps(obj), flush=True)


def require(*modules):
    """Imports modules by name; on a missing one prints the skip line the harness shows, and exits 0."""
    loaded = []
    for name in modules:
        try:
            loaded.append(__import__(name, fromlist=["_"]))
        except ImportError:
            emit({"skipped": f"{name.split('.')[0]} not installed"})
            sys.exit(0)
    return loaded


def max_rss_bytes():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[(n - 1) // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def measure(fn, budget):
    """Short operations: `warmup` untimed calls, then timed calls until both minRuns and maxTime are met.
    Long operations pass minRuns = runs and maxTime = 0: exactly that many timed runs."""
    for _ in range(budget.get("warmup", 1)):
        fn()
    times = []
    start = time.perf_counter()
    max_runs = budget.get("maxRuns", 1000)
    while len(times) < budget["minRuns"] or (time.perf_counter() - start < budget["maxTime"] and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"seconds": median(times), "times": times, "timer": timer_label(budget, len(times))}


def timer_label(budget, n):
    if budget["maxTime"] == 0:
        w = budget.get("warmup", 1)
        return f"perf_counter, median of {n} run{'s' if n != 1 else ''}" + (f" after {w} warm-up" if w else "")
    return f"perf_counter, median of {n} calls (≥{budget['minRuns']}, ~{budget['maxTime']} s)"


def set_threads(n):
    """BLAS already read the env vars; threadpoolctl (a scikit-learn dependency) pins OpenMP pools as well."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=n)
    except ImportError:
        return None
