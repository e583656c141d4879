"""R anchor: the `implicit` package's CosineRecommender (item-item cosine, K neighbours, C++/OpenMP with the
bench's thread count): fit(X), then recommend(all users, X, N, filter_already_liked_items=True) in one batch."""
import time

from _common import config, emit, max_rss_bytes, require

np, sp, nn = require("numpy", "scipy.sparse", "implicit.nearest_neighbours")
cfg = config()
indptr = np.load(cfg["indptr"]).astype(np.int64)
indices = np.load(cfg["indices"]).astype(np.int64)
users = len(indptr) - 1
items = cfg["items"]
X = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(users, items))
rss_inputs = max_rss_bytes()
t0 = time.perf_counter()
model = nn.CosineRecommender(K=cfg["k"], num_threads=cfg["threads"])
model.fit(X, show_progress=False)
t1 = time.perf_counter()
ids, _scores = model.recommend(np.arange(users), X, N=cfg["n"], filter_already_liked_items=True)
t2 = time.perf_counter()
top = np.full((users, cfg["n"]), -1, np.int32)
top[:, : ids.shape[1]] = ids
if cfg.get("out"):
    np.save(cfg["out"], top)
import implicit  # noqa: E402  (version only)

emit(
    {
        "fitSeconds": t1 - t0,
        "recommendSeconds": t2 - t1,
        "seconds": t2 - t0,
        "timer": "perf_counter, one run",
        "peakRssDelta": max_rss_bytes() - rss_inputs,
        "version": implicit.__version__,
        "check": {"firstUser": top[0].tolist()},
    }
)
