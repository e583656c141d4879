"""Schemathesis hooks for Quiver's contract fuzz run (tests/server/fuzz.test.ts).

JSON Schema cannot state Quiver's cross-field rules: the rows of a matrix have one length, a and b (queries and
base) have the same number of columns, target and sampleWeight have one value per row, k <= rows, a logistic
target has both classes, predict rows are as wide as the model, the parallel interaction arrays have one length.
Schemathesis's positive cases are drawn from the schema alone, so these hooks make each positive case also keep
those rules (only by trimming, repeating or padding values the schema allows), and rewrite a positive binary body
into a valid .npy of the right width. Negative cases are left exactly as generated.
"""
import json
import os
import struct
import urllib.request

import schemathesis

BASE = os.environ.get("QUIVER_FUZZ_URL", "")
NPY = "application/x-npy"
ARROW = "application/vnd.apache.arrow.stream"


def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _matrix(m):
    return isinstance(m, list) and m and all(isinstance(r, list) and r and all(_num(x) for x in r) for r in m)


def _width(*ms):
    return min(len(r) for m in ms if _matrix(m) for r in m)


def _fit_width(m, w):
    """Every row trimmed (or padded with its own values) to w columns."""
    return [(r * (w // len(r) + 1))[:w] for r in m]


def _resize(v, n):
    """A non-empty list repeated or trimmed to n values."""
    return (v * (n // len(v) + 1))[:n]


def _positive(case):
    meta = getattr(case, "meta", None)
    gen = getattr(meta, "generation", None)
    mode = getattr(gen, "mode", None)
    return bool(mode is not None and mode.is_positive)


def _model_cols(model_id):
    try:
        with urllib.request.urlopen(f"{BASE}/v1/models/{model_id}", timeout=5) as r:
            return int(json.load(r).get("cols"))
    except Exception:
        return None


def _npy(rows, cols):
    """A float32 C-order .npy of rows x cols small distinct values (version 1.0 header)."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    data = struct.pack("<%df" % (rows * cols), *[((i * 7) % 11) / 3.0 - 1.5 for i in range(rows * cols)])
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + data


def _f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def _distinct(m):
    """The rows of m that differ once stored as float32, first occurrences in order."""
    seen, out = set(), []
    for r in m:
        key = tuple(_f32(v) for v in r)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _fix_weights(b, n):
    w = b.get("sampleWeight")
    if isinstance(w, list) and w and all(_num(x) for x in w):
        w = _resize(w, n)
        if not any(x > 0 for x in w):
            w[0] = 1.0
        b["sampleWeight"] = w


def _fix_names(b, cols):
    names = b.get("featureNames")
    if isinstance(names, list) and all(isinstance(x, str) for x in names):
        b["featureNames"] = [f"f{i}" for i in range(cols)]


def _fix_body(path, b, case):
    if path == "/v1/similarity":
        if _matrix(b.get("a")):
            w = _width(b.get("a"), b.get("b"))
            b["a"] = _fit_width(b["a"], w)
            if _matrix(b.get("b")):
                b["b"] = _fit_width(b["b"], w)
    elif path == "/v1/topk":
        if _matrix(b.get("queries")):
            w = _width(b.get("queries"), b.get("base"))
            b["queries"] = _fit_width(b["queries"], w)
            if _matrix(b.get("base")):
                b["base"] = _fit_width(b["base"], w)
            query = case.query or {}
            if b.get("excludeSelf") or (b.get("excludeSelf") is None and query.get("excludeSelf") in (True, "true")):
                key = "base" if _matrix(b.get("base")) else "queries"
                if len(b[key]) < 2:
                    b[key] = b[key] * 2
    elif path in ("/v1/kmeans", "/v1/linear", "/v1/logistic"):
        x = b.get("rows")
        if not _matrix(x):
            return
        if path == "/v1/logistic" and len(x) < 2:
            x = x * 2
        w = _width(x, b.get("init")) if path == "/v1/kmeans" else _width(x)
        x = _fit_width(x, w)
        if path != "/v1/kmeans":
            # Without a penalty a regression needs a full-rank X (the server names a collinear or constant column
            # and refuses it): positive cases get an L2 penalty, so any X is a solvable system.
            if len(x) < 2:
                x = x * 2
            if not b.get("l2"):
                b["l2"] = 1.0
            if path == "/v1/logistic":
                if isinstance(b.get("sampleWeight"), list) and len(b["sampleWeight"]) >= 2:
                    b["sampleWeight"][0] = b["sampleWeight"][1] = 1.0
                # Newton steps on values and weights near 1e15 overflow to NaN (reported as NON_FINITE, a known
                # limit of the fit, not of the HTTP contract): positive cases keep them to a moderate scale.
                x = [[max(-1e3, min(1e3, v)) for v in r] for r in x]
                if isinstance(b.get("sampleWeight"), list):
                    b["sampleWeight"] = [min(1e3, v) if _num(v) else v for v in b["sampleWeight"]]
        b["rows"] = x
        n = len(x)
        if path == "/v1/kmeans":
            # k clusters need k distinct rows (and k distinct initial centroids when they are given).
            d = len(_distinct(x))
            init = b.get("init")
            if _matrix(init):
                init = _distinct(_fit_width(init, w))[:d]
                b["init"] = init
                b["k"] = len(init)
            elif isinstance(b.get("k"), int):
                b["k"] = max(1, min(b["k"], d))
        t = b.get("target")
        if isinstance(t, list) and t and all(_num(v) for v in t):
            t = _resize(t, n)
            if path == "/v1/logistic":
                t[0], t[1] = 0, 1
            b["target"] = t
        _fix_weights(b, n)
        if path == "/v1/logistic" and isinstance(b.get("sampleWeight"), list):
            # Both classes keep a positive weight.
            for i in (0, 1):
                if not b["sampleWeight"][i] > 0:
                    b["sampleWeight"][i] = 1.0
        _fix_names(b, w)
    elif path == "/v1/models/{id}/predict":
        x = b.get("rows")
        cols = _model_cols(case.path_parameters.get("id"))
        if _matrix(x) and cols:
            b["rows"] = _fit_width([r + [0.0] * cols for r in x], cols)
    elif path == "/v1/recommenders":
        it = b.get("interactions")
        if isinstance(it, dict) and isinstance(it.get("users"), list) and isinstance(it.get("items"), list):
            arrays = [it["users"], it["items"]] + ([it["ratings"]] if isinstance(it.get("ratings"), list) else [])
            if all(arrays):
                # Every model compares at least two users and two items.
                it["users"] = it["users"] + ["fuzz-user-a", "fuzz-user-b"]
                it["items"] = it["items"] + ["fuzz-item-a", "fuzz-item-b"]
                n = max(len(it[k]) for k in ("users", "items", "ratings") if isinstance(it.get(k), list))
                for key in ("users", "items", "ratings"):
                    if isinstance(it.get(key), list):
                        it[key] = _resize(it[key], n)
            ratings = it.get("ratings")
            if b.get("feedback") == "explicit" and not isinstance(ratings, list):
                it["ratings"] = ratings = [1.0] * len(it["users"])
            # minRating may filter out every interaction: keep it at the lowest rating, where all pass.
            if isinstance(ratings, list) and ratings and all(_num(v) for v in ratings):
                if "minRating" in b:
                    b["minRating"] = min(ratings)
            else:
                b.pop("minRating", None)
            binary = b.get("feedback") == "binary" or (b.get("feedback") is None and not isinstance(ratings, list))
        else:
            binary = True
        # Pearson and adjusted cosine centre ratings: binary interactions (synthetic data, or no ratings) have none.
        if binary and b.get("similarity") in ("pearson", "adjusted-cosine"):
            b["similarity"] = "cosine"
        syn = b.get("synthetic")
        if isinstance(syn, dict) and all(isinstance(syn.get(k), int) for k in ("users", "items", "interactions")):
            syn["users"] = max(2, syn["users"])
            syn["items"] = max(2, syn["items"])
            # The generator gives every user at least one interaction and no user more than every item.
            syn["interactions"] = min(max(syn["users"], 4, syn["interactions"]), syn["users"] * syn["items"])


@schemathesis.hook
def map_case(ctx, case):
    if not _positive(case):
        return case
    path = case.operation.path
    if isinstance(case.body, dict):
        _fix_body(path, case.body, case)
    elif case.media_type in (NPY, ARROW):
        cols = 3
        if path == "/v1/models/{id}/predict":
            cols = _model_cols(case.path_parameters.get("id")) or 3
        case.media_type = NPY
        case.body = _npy(4, cols)
    return case
