"""W3 KMeans on a vendor anchor (config "anchor": aoclda | sklearnex): KMeans(n_clusters=k, init=C0, n_init=1,
max_iter, tol=0, algorithm='lloyd').fit(X), timed whole; the harness divides by n_iter_."""
import warnings

from _anchors import load
from _common import config, emit, measure, require, set_threads

cfg = config()
classes, verifier, version = load(cfg["anchor"], "KMeans")
(np,) = require("numpy")
set_threads(cfg["threads"])
X = np.load(cfg["x"])[: cfg["n"]]
C0 = np.load(cfg["init"])
state = {}


def run():
    verifier.reset()
    km = classes["KMeans"](n_clusters=C0.shape[0], init=C0, n_init=1, max_iter=cfg["iters"], tol=0, algorithm="lloyd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km.fit(X)
    verifier.check(km)
    state["km"] = km


r = measure(run, cfg["budget"])
km = state["km"]
r["nIter"] = int(km.n_iter_)
r["check"] = {"inertia": float(km.inertia_), "nIter": int(km.n_iter_)}
r["verified"] = verifier.evidence
r["version"] = version
emit(r)
