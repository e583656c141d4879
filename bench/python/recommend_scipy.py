"""R anchor: an item-item cosine kNN recommender written with scipy.sparse, the algorithm of the engine's row:
normalise the item columns, C = XnᵀXn by blocks of items (sparse product, then the block made dense for
argpartition), keep the top K neighbours of each item (self excluded, similarity > 0), score users by X·S in
blocks of users, drop seen items, top n. Blocks bound memory (~blockBytes per dense block). scipy's sparse
products are single-threaded; numpy's argpartition too."""
import time

from _common import config, emit, max_rss_bytes, require

np, sp = require("numpy", "scipy.sparse")
cfg = config()
indptr = np.load(cfg["indptr"]).astype(np.int64)
indices = np.load(cfg["indices"]).astype(np.int64)
users = len(indptr) - 1
items = cfg["items"]
K = cfg["k"]
N = cfg["n"]
block_bytes = cfg.get("blockBytes", 256 << 20)
X = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(users, items))
rss_inputs = max_rss_bytes()


def top_rows(dense, k):
    """Best k per row (score desc, index asc), dropping -inf; returns (idx, val) with -1 / -inf padding."""
    k = min(k, dense.shape[1])
    part = np.argpartition(-dense, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(dense, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    idx[~np.isfinite(vals)] = -1
    return idx, vals


t0 = time.perf_counter()
Xt = X.T.tocsr()
norms = np.sqrt(np.asarray(Xt.multiply(Xt).sum(axis=1)).ravel())
inv = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-30), 0.0).astype(np.float32)
Xn = sp.diags(inv) @ Xt  # items × users, unit rows
XnT = Xn.T.tocsr()  # users × items
nbr_idx = np.full((items, K), -1, np.int64)
nbr_val = np.zeros((items, K), np.float32)
ib = max(1, block_bytes // (4 * items))
for b0 in range(0, items, ib):
    b1 = min(items, b0 + ib)
    c = (Xn[b0:b1] @ XnT).toarray()
    c[np.arange(b1 - b0), np.arange(b0, b1)] = -np.inf
    c[c <= 0] = -np.inf
    idx, val = top_rows(c, K)
    nbr_idx[b0:b1, : idx.shape[1]] = idx
    nbr_val[b0:b1, : idx.shape[1]] = np.where(idx >= 0, val, 0)
keep = nbr_idx >= 0
counts = keep.sum(axis=1)
S = sp.csr_matrix((nbr_val[keep], nbr_idx[keep], np.concatenate([[0], np.cumsum(counts)])), shape=(items, items))
t1 = time.perf_counter()
top = np.full((users, N), -1, np.int32)
ub = max(1, block_bytes // (4 * items))
for u0 in range(0, users, ub):
    u1 = min(users, u0 + ub)
    xb = X[u0:u1]
    r = (xb @ S).toarray()
    r[r <= 0] = -np.inf  # only items reached through a neighbour are candidates
    rows, cols = xb.nonzero()
    r[rows, cols] = -np.inf  # seen items
    idx, _ = top_rows(r, N)
    top[u0:u1, : idx.shape[1]] = idx
t2 = time.perf_counter()
if cfg.get("out"):
    np.save(cfg["out"], top)
emit(
    {
        "fitSeconds": t1 - t0,
        "recommendSeconds": t2 - t1,
        "seconds": t2 - t0,
        "timer": "perf_counter, one run",
        "peakRssDelta": max_rss_bytes() - rss_inputs,
        "check": {"firstUser": top[0].tolist()},
    }
)
