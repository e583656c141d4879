"""EASE anchor: the closed form with numpy, as EASE's reference implementation writes it: G = XᵀX + λI as a
dense f64 matrix (scipy.sparse product, then toarray), P = np.linalg.inv(G) (LAPACK getrf + getri on
OPENBLAS_NUM_THREADS threads), B = −P / diag(P) with a zero diagonal. Times the whole fit and the inverse
alone; peak RSS is reported above the RSS after the inputs were read."""
import time

from _common import config, emit, max_rss_bytes, require

np, sp = require("numpy", "scipy.sparse")
cfg = config()
indptr = np.load(cfg["indptr"]).astype(np.int64)
indices = np.load(cfg["indices"]).astype(np.int64)
users = len(indptr) - 1
items = cfg["items"]
lam = cfg["lambda"]
X = sp.csr_matrix((np.ones(len(indices), np.float64), indices, indptr), shape=(users, items))
rss_inputs = max_rss_bytes()

t0 = time.perf_counter()
G = (X.T @ X).toarray()
G[np.diag_indices(items)] += lam
t1 = time.perf_counter()
P = np.linalg.inv(G)
t2 = time.perf_counter()
del G
B = P / (-np.diag(P))
B[np.diag_indices(items)] = 0
t3 = time.perf_counter()
rss_peak = max_rss_bytes()
emit({
    "seconds": t3 - t0,
    "gramSeconds": t1 - t0,
    "invSeconds": t2 - t1,
    "timer": "perf_counter, one run",
    "peakRssDelta": rss_peak - rss_inputs,
    "check": {"b01": float(B[0, 1]), "b10": float(B[1, 0])},
    "version": np.__version__,
})
