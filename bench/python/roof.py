"""The machine's sgemm roof: numpy float32 n×n×n matmul into a preallocated output, best of a few runs."""
from _common import config, emit, require, set_threads
import time

(np,) = require("numpy")
cfg = config()
set_threads(cfg["threads"])
n = cfg["n"]
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
c = np.empty((n, n), dtype=np.float32)
np.matmul(a, b, out=c)  # warm-up: BLAS thread start, page faults on c
times = []
for _ in range(cfg["runs"]):
    t0 = time.perf_counter()
    np.matmul(a, b, out=c)
    times.append(time.perf_counter() - t0)
best = min(times)
emit({"n": n, "seconds": best, "times": times, "gflops": 2 * n**3 / best / 1e9, "timer": f"perf_counter, best of {len(times)}"})
