"""W6 multiclass (softmax) logistic regression, K classes, C: scikit-learn's multinomial LogisticRegression with
solver 'lbfgs' or 'newton-cholesky', or AOCL-DA's (through its scikit-learn class, L-BFGS), timed whole.
Reports n_iter_ and the final objective Σ_i log-loss_i + ‖W‖²_F / (2C) (intercepts unpenalised) computed here in
float64 from the returned coefficients, the same formula for every implementation."""
import warnings

from _common import config, emit, measure, require, set_threads

cfg = config()
set_threads(cfg["threads"])
np, linear_model = require("numpy", "sklearn.linear_model")
X = np.load(cfg["x"])[: cfg["n"]]
y = np.load(cfg["y"])[: cfg["n"]].astype(np.int64)
impl = cfg["impl"]
if impl == "aocl":
    try:
        from aoclda.sklearn._linear_model import LogisticRegression as AoclLogisticRegression
    except ImportError:
        emit({"skipped": "aoclda not installed"})
        raise SystemExit(0)
state = {}


def run():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if impl == "aocl":
            m = AoclLogisticRegression(C=cfg["C"], tol=cfg["tol"], max_iter=cfg["maxIter"])
            m.fit(X, y.astype(np.float64))
        else:
            m = linear_model.LogisticRegression(solver=impl, C=cfg["C"], tol=cfg["tol"], max_iter=cfg["maxIter"])
            m.fit(X, y)
    state["m"] = m


r = measure(run, cfg["budget"])
m = state["m"]
if impl == "aocl":
    c = np.asarray(m.lmod.coef, dtype=np.float64)
    W, b = c[:, :-1], c[:, -1]
    r["nIter"] = int(np.ravel(m.lmod.n_iter)[0]) if np.size(m.lmod.n_iter) else None
else:
    W, b = m.coef_.astype(np.float64), m.intercept_.astype(np.float64)
    r["nIter"] = int(np.ravel(m.n_iter_)[0])
Z = X.astype(np.float64) @ W.T + b
mx = Z.max(axis=1, keepdims=True)
lse = mx[:, 0] + np.log(np.exp(Z - mx).sum(axis=1))
loss = float((lse - Z[np.arange(len(y)), y]).sum())
r["objective"] = loss + float((W * W).sum()) / (2 * cfg["C"])
r["logLoss"] = loss / len(y)
emit(r)
