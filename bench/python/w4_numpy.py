"""W4 OLS with numpy, three timings on the same X (f32) and y (f64):
- f64:   X64.T @ X64, X64.T @ y, Cholesky, two triangular solves (X64 = X.astype(float64) before the timer);
- f32:   the same in float32 (X.T @ X on the f32 input: faster, with f32 sums);
- score: X @ w in float32 (batch scoring of every row, w = the generating coefficients)."""
from _common import config, emit, measure, require, set_threads

(np,) = require("numpy")
cfg = config()
set_threads(cfg["threads"])
X = np.load(cfg["x"])[: cfg["n"]]
y = np.load(cfg["y"])[: cfg["n"]]
X64 = X.astype(np.float64)
y32 = y.astype(np.float32)

try:
    from scipy.linalg import solve_triangular

    def chol_solve(G, b):
        L = np.linalg.cholesky(G)
        return solve_triangular(L.T, solve_triangular(L, b, lower=True), lower=False)

    solver = "numpy cholesky + scipy solve_triangular"
except ImportError:

    def chol_solve(G, b):
        L = np.linalg.cholesky(G)
        return np.linalg.solve(L.T, np.linalg.solve(L, b))

    solver = "numpy cholesky + np.linalg.solve on the factors"


def solve64():
    return chol_solve(X64.T @ X64, X64.T @ y)


def solve32():
    return chol_solve(X.T @ X, X.T @ y32)


# Scoring uses the generating coefficients, the same vector the engine rows score with.
w32 = np.load(cfg["beta"]).astype(np.float32)


def score():
    return X @ w32


out = {"solver": solver}
for name, fn in (("f64", solve64), ("f32", solve32), ("score", score)):
    r = measure(fn, cfg["budget"])
    if name != "score":
        r["coef"] = [float(v) for v in fn()]
    else:
        r["check"] = {"sumScores": float(fn().astype(np.float64).sum())}
    out[name] = r
emit(out)
