"""Which Python peers can run here: module versions, and the BLAS each one links (threadpoolctl)."""
import json
import platform

out = {"python": platform.python_version(), "modules": {}}
for name in ("numpy", "scipy", "sklearn", "faiss", "implicit", "threadpoolctl", "fastapi", "uvicorn", "aoclda", "sklearnex"):
    try:
        m = __import__(name)
        out["modules"][name] = getattr(m, "__version__", "unknown")
    except ImportError:
        out["modules"][name] = None
try:
    from threadpoolctl import threadpool_info

    out["threadpools"] = [
        {k: p.get(k) for k in ("internal_api", "prefix", "version", "num_threads", "architecture", "threading_layer")}
        for p in threadpool_info()
    ]
except ImportError:
    pass
print(json.dumps(out))
