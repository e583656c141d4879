"""W3 KMeans with scikit-learn: KMeans(algorithm='lloyd', init=<given centroids>, n_init=1, max_iter, tol=0)
.fit(X), timed whole; the harness divides by n_iter_ (scikit-learn may stop early on strict convergence)."""
import warnings

from _common import config, emit, measure, require, set_threads

np, cluster = require("numpy", "sklearn.cluster")
cfg = config()
set_threads(cfg["threads"])
X = np.load(cfg["x"])[: cfg["n"]]
C0 = np.load(cfg["init"])
state = {}


def run():
    km = cluster.KMeans(n_clusters=C0.shape[0], init=C0, n_init=1, max_iter=cfg["iters"], tol=0, algorithm="lloyd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km.fit(X)
    state["km"] = km


r = measure(run, cfg["budget"])
km = state["km"]
r["nIter"] = int(km.n_iter_)
r["check"] = {"inertia": float(km.inertia_), "nIter": int(km.n_iter_)}
emit(r)
