"""W2 on AOCL-DA's brute-force kNN: NearestNeighbors(n_neighbors=k, algorithm='brute', metric='cosine')
.fit(X).kneighbors(Q) on the raw vectors (cosine distance = 1 − similarity), through skpatch. aoclda's
Python package has no FAISS patch (checked on 5.3: no faiss module in it), so that row is a skip line."""
import importlib.util
import time

from _anchors import load
from _common import config, emit, median, require, set_threads

cfg = config()
classes, verifier, version = load("aoclda", "NearestNeighbors")
(np,) = require("numpy")
set_threads(cfg["threads"])
Q = np.load(cfg["q"])[: cfg["nq"]]
X = np.load(cfg["x"])[: cfg["nb"]]
times = []
for _ in range(cfg["runs"]):
    t0 = time.perf_counter()
    nn = classes["NearestNeighbors"](n_neighbors=cfg["k"], algorithm="brute", metric="cosine").fit(X)
    dist, idx = nn.kneighbors(Q)
    times.append(time.perf_counter() - t0)
    verifier.check(nn)
top1 = 1.0 - dist[:, 0].astype(np.float64)
emit(
    {
        "seconds": median(times),
        "times": times,
        "timer": f"perf_counter, median of {len(times)} run{'s' if len(times) != 1 else ''}",
        "check": {"meanTop1": float(top1.mean()), "firstIndices": [int(v) for v in idx[0]]},
        "verified": verifier.evidence,
        "version": version,
        "faissPatch": importlib.util.find_spec("aoclda.faiss") is not None,
    }
)
