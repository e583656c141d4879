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


_baseline = {}


def rss_now_bytes():
    """Resident set size now (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        return None


def emit(obj):
    """Prints the result line. Unless the script measured it itself, `peakRssDelta` is the high-water mark
    above the resident size once the modules were imported (`require`), before any input was read: the
    inputs, the copies and the outputs all count, as they do for the engine rows."""
    base = _baseline.get("rss")
    if base is not None and "skipped" not in obj and "error" not in obj and "peakRssDelta" not in obj:
        obj["peakRssDelta"] = max_rss_bytes() - base
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
    _baseline["rss"] = rss_now_bytes()
    return loaded


def max_rss_bytes():
    """This process's peak resident size. On Linux, VmHWM of /proc/self/status: ru_maxrss is not the
    process's own there, since exec carries over the high-water mark of the process that spawned it (a
    peer spawned by a bench suite that holds a 256 MB matrix starts with at least that)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    # Elsewhere ru_maxrss (KiB on Linux, bytes on macOS; the harness runs on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[(n - 1) // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def reset_peak_rss():
    """Resets the peak `max_rss_bytes` reads to the resident size now (Linux: 5 into /proc/self/clear_refs),
    so the peak is the calls' and not the temporaries of building the inputs; the engine rows do the same."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def measure(fn, budget):
    """Short operations: `warmup` untimed calls, then timed calls until both minRuns and maxTime are met.
    Long operations pass minRuns = runs and maxTime = 0: exactly that many timed runs. The inputs are built
    by then: the peak RSS is reset first (reset_peak_rss)."""
    reset_peak_rss()
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


def logistic_objective(X, y, coef, intercept, C):
    """scikit-learn's L2 objective ½‖w‖² + C·Σ log(1 + exp(−t·(Xw + b))), t = ±1, intercept unpenalised, in
    float64: the one yardstick every W5 row is reported in."""
    import numpy as np

    z = X.astype(np.float64) @ np.asarray(coef, dtype=np.float64) + intercept
    t = 2.0 * (np.asarray(y) > 0.5) - 1.0
    w = np.asarray(coef, dtype=np.float64)
    return float(0.5 * w @ w + C * np.logaddexp(0.0, -t * z).sum())
