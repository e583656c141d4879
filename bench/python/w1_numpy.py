"""W1 all-pairs cosine with numpy, two forms, each timed from the raw matrix (normalisation included):
- fastest: An = A / ‖row‖, then np.matmul(An, An.T.copy(), out=C) into a preallocated C (a plain sgemm);
- usual:   An @ An.T (numpy allocates C and takes its own path for a product with its own transpose)."""
from _common import config, emit, measure, require, set_threads

(np,) = require("numpy")
cfg = config()
set_threads(cfg["threads"])
A = np.load(cfg["a"])
n = A.shape[0]
C = np.empty((n, n), dtype=np.float32)


def normalized():
    norms = np.linalg.norm(A, axis=1, keepdims=True)
    return A / np.where(norms > 0, norms, 1)


def fastest():
    An = normalized()
    np.matmul(An, An.T.copy(), out=C)
    return C


def usual():
    An = normalized()
    return An @ An.T


out = {}
for name, fn in (("fastest", fastest), ("usual", usual)):
    r = measure(fn, cfg["budget"])
    r["check"] = {"sum64x64": float(fn()[:64, :64].astype(np.float64).sum())}
    out[name] = r
emit(out)
