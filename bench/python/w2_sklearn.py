"""W2 exact top-k by cosine with scikit-learn: NearestNeighbors(algorithm='brute', metric='cosine') on the raw
vectors (it normalises itself), fit + kneighbors timed."""
from _common import config, emit, max_rss_bytes, measure, require

np, neighbors = require("numpy", "sklearn.neighbors")
cfg = config()
Q = np.ascontiguousarray(np.load(cfg["q"])[: cfg["nq"]])
X = np.load(cfg["x"])[: cfg["nb"]]
rss_inputs = max_rss_bytes()
result = {}


def run():
    nn = neighbors.NearestNeighbors(n_neighbors=cfg["k"], algorithm="brute", metric="cosine")
    nn.fit(X)
    result["D"], result["I"] = nn.kneighbors(Q)


r = measure(run, {"minRuns": cfg["runs"], "maxTime": 0, "warmup": 0})
r["peakRssDelta"] = max_rss_bytes() - rss_inputs
r["check"] = {"meanTop1": float((1 - result["D"][:, 0]).mean()), "firstIndices": result["I"][0].tolist()}
emit(r)
