"""Oracle and anchors for scripts/measure/w4-accuracy.mjs: argv = (dir with x.npy (f32) and y.npy, JSON of
the engine's fits). The oracle is numpy.linalg.lstsq on [X, 1] in float64 (the same f32 values widened);
numpy f32 centres X and y in float32 and solves the normal equations in float32; AOCL-DA is
LinearRegression(fit_intercept=True) after skpatch(), on the f32 arrays. Prints one JSON line."""
import json
import sys

import numpy as np

d, fits = sys.argv[1], json.loads(sys.argv[2])
X = np.load(f"{d}/x.npy")
y = np.load(f"{d}/y.npy").reshape(-1).astype(np.float32)
n, p = X.shape
A = np.empty((n, p + 1))
A[:, :p] = X
A[:, p] = 1.0
sol = np.linalg.lstsq(A, y.astype(np.float64), rcond=None)[0]
beta, b0 = sol[:p], sol[p]
Xc = X - X.mean(axis=0, dtype=np.float64).astype(np.float32)
cond = float(np.linalg.cond(Xc[: min(n, 200000)].astype(np.float64)))
del A, Xc

yc = y - np.float32(y.mean(dtype=np.float64))
mu32 = X.mean(axis=0)
X32 = X - mu32
G = X32.T @ X32
L = np.linalg.cholesky(G)
b32 = np.linalg.solve(L.T, np.linalg.solve(L, X32.T @ yc))
fits["numpy f32"] = {"coef": b32.astype(np.float64).tolist(), "intercept": float(y.mean() - mu32 @ b32)}
del X32

try:
    from aoclda.sklearn import skpatch

    skpatch()
    from sklearn.linear_model import LinearRegression

    m = LinearRegression(fit_intercept=True).fit(X, y)
    if not type(m).__module__.startswith("aoclda."):
        raise RuntimeError("AOCL-DA fell back")
    fits["AOCL-DA f32"] = {"coef": np.ravel(m.coef_).astype(np.float64).tolist(), "intercept": float(np.ravel(m.intercept_)[0])}
except ImportError:
    pass

scale = float(np.max(np.abs(beta)))
errors = {
    k: {
        "coef": float(np.max(np.abs(np.asarray(v["coef"]) - beta)) / scale),
        "intercept": abs(v["intercept"] - b0) / max(abs(b0), 1.0),
    }
    for k, v in fits.items()
}
print(json.dumps({"cond": cond, "errors": errors}))
