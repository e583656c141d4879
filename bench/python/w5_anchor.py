"""W5 logistic regression on a vendor anchor (config "anchor": aoclda | sklearnex): LogisticRegression(C, tol,
max_iter) with L-BFGS (the only solver AOCL-DA has; scikit-learn-intelex accelerates lbfgs and newton-cg),
timed whole. Reports the final objective in scikit-learn's units (see _common.logistic_objective)."""
import warnings

from _anchors import load
from _common import config, emit, logistic_objective, measure, require, set_threads

cfg = config()
classes, verifier, version = load(cfg["anchor"], "LogisticRegression")
(np,) = require("numpy")
set_threads(cfg["threads"])
X = np.load(cfg["x"])[: cfg["n"]]
y = np.load(cfg["y"])[: cfg["n"]]
state = {}


def run():
    verifier.reset()
    m = classes["LogisticRegression"](C=cfg["C"], tol=cfg["tol"], max_iter=cfg["maxIter"], solver="lbfgs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X, y)
    verifier.check(m)
    state["m"] = m


r = measure(run, cfg["budget"])
m = state["m"]
coef = np.ravel(m.coef_).astype(np.float64)
intercept = float(np.ravel(m.intercept_)[0])
n_iter = getattr(m, "n_iter_", None)
if n_iter is None and hasattr(m, "lmod"):
    n_iter = getattr(m.lmod, "n_iter", None)
r["nIter"] = int(np.ravel(n_iter)[0]) if n_iter is not None else None
r["coef"] = [float(v) for v in coef]
r["intercept"] = intercept
r["objective"] = logistic_objective(X, y, coef, intercept, cfg["C"])
r["verified"] = verifier.evidence
r["version"] = version
emit(r)
