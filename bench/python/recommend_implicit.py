"""R anchor: the `implicit` package's CosineRecommender, or (cfg algo 'als') its AlternatingLeastSquares (item-item cosine, K neighbours, C++/OpenMP with the
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
limits = None
if cfg.get("algo") == "als":
    # implicit.als.AlternatingLeastSquares with the row's factors, iterations and λ, BLAS limited to one thread as
    # implicit asks (its own OpenMP loop uses the bench's threads). implicit's confidence is alpha·X, Quiver's
    # 1 + α·r: implicit gets the matrix 1 + α (binary X) with its alpha = 1, so both solve the same systems.
    from threadpoolctl import threadpool_limits
    from implicit.cpu.als import AlternatingLeastSquares

    limits = threadpool_limits(limits=1, user_api="blas")
    C = X.copy()
    C.data[:] = 1.0 + cfg["alpha"]
    t0 = time.perf_counter()
    model = AlternatingLeastSquares(
        factors=cfg["factors"], regularization=cfg["regularization"], alpha=1.0, iterations=cfg["iterations"],
        use_cg=cfg["solver"] == "cg", num_threads=cfg["threads"], random_state=0,
    )
    model.fit(C, show_progress=False)
else:
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
