#!/usr/bin/env python3
"""The scikit-learn side of scripts/measure/multinomial.mjs (run that first; it writes the data):
    /tmp/venv/bin/python scripts/measure/multinomial.py [/tmp/quiver-multinomial]
Fits multinomial LogisticRegression(C=1) with lbfgs and newton-cholesky, single-threaded BLAS as Quiver's workers
are, and prints the fit time and the final objective (mean log-loss + ||W||^2 / (2 C n))."""
import json
import os
import sys
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402

d = sys.argv[1] if len(sys.argv) > 1 else '/tmp/quiver-multinomial'
x = np.load(os.path.join(d, 'x.npy')).astype(np.float64)
y = np.load(os.path.join(d, 'y.npy'))
n = len(y)
for solver in ('lbfgs', 'newton-cholesky'):
    t0 = time.perf_counter()
    lr = LogisticRegression(C=1.0, solver=solver, tol=1e-6, max_iter=1000).fit(x, y)
    secs = time.perf_counter() - t0
    obj = log_loss(y, lr.predict_proba(x)) + 0.5 * float(np.sum(lr.coef_ ** 2)) / n
    print(json.dumps({'who': f'scikit-learn {solver}', 'seconds': round(secs, 3), 'nIter': int(np.max(lr.n_iter_)), 'objective': obj}))
