"""W5 logistic regression with scikit-learn: LogisticRegression(solver='newton-cholesky', C, tol, max_iter)
.fit(X, y), timed whole; reports n_iter_ and the coefficients so the harness can compare the optimum."""
import warnings

from _common import config, emit, logistic_objective, measure, require, set_threads

np, linear_model = require("numpy", "sklearn.linear_model")
cfg = config()
set_threads(cfg["threads"])
X = np.load(cfg["x"])[: cfg["n"]]
y = np.load(cfg["y"])[: cfg["n"]]
state = {}


def run():
    m = linear_model.LogisticRegression(solver="newton-cholesky", C=cfg["C"], tol=cfg["tol"], max_iter=cfg["maxIter"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X, y)
    state["m"] = m


r = measure(run, cfg["budget"])
m = state["m"]
r["nIter"] = int(m.n_iter_[0])
r["coef"] = [float(v) for v in m.coef_[0]]
r["intercept"] = float(m.intercept_[0])
r["objective"] = logistic_objective(X, y, m.coef_[0], r["intercept"], cfg["C"])
emit(r)
