"""Schemathesis hooks for Quiver's contract fuzz run (tests/server/fuzz.test.ts).

JSON Schema cannot state Quiver's cross-field rules: the rows of a matrix have one length, a and b (queries and
base) have the same number of columns, target and sampleWeight have one value per row, k <= rows, a logistic
target has both classes (or class indices 0 … K−1 with two rows each), predict rows are as wide as the model, the
parallel interaction arrays have one length, a recommender's options fit its data (ALS factors at most the items, a
minItemSupport that keeps two items, a kNN weighting only on item kNN with cosine and, for bm25, no shrink), table
records have one cell per column, the encoding options name real columns, validation leaves rows of every class on both sides, a lift needs a logistic model and some positives, and
choose-k compares k below the distinct rows.
Schemathesis's positive cases are drawn from the schema alone, so these hooks make each positive case also keep
those rules (only by trimming, repeating or padding values the schema allows), and rewrite a positive binary body
into a valid .npy of the right width. Negative cases are left exactly as generated.
"""
import copy
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


def _model(model_id):
    try:
        with urllib.request.urlopen(f"{BASE}/v1/models/{model_id}", timeout=5) as r:
            return json.load(r)
    except Exception:
        return None


TABLE_ONLY = ("categorical", "dropLevel", "impute", "standardize")


def _fix_table(b, logistic):
    """A table of distinct column names, one cell per column in every record, each column all numbers (no missing
    cell) or all text of a few levels; encoding options that name its columns or apply to every column."""
    t = b["table"]
    w = min(len(t["columns"]), 6)
    t["columns"] = [f"c{j}" for j in range(w)]
    recs = [(r * (w // len(r) + 1))[:w] for r in t["records"]]
    for j in range(w):
        if all(_num(r[j]) for r in recs):
            for r in recs:
                r[j] = max(-1e3, min(1e3, r[j])) if logistic else r[j]
        else:
            # A few levels per column (a free-text column, an id, is refused as too many one-hot columns), and
            # two at least, so the column encodes to something.
            for i, r in enumerate(recs):
                r[j] = "L%d" % (i % 3)
    if len(recs) < 2:
        recs = _resize(recs, 2)
        for j in range(w):
            if isinstance(recs[1][j], str):
                recs[1] = recs[1][:j] + ["L1"] + recs[1][j + 1:]
    t["records"] = recs
    if "categorical" in b:
        # A categorical column of one value would encode to no column at all.
        b["categorical"] = [c for j, c in enumerate(t["columns"]) if c in b["categorical"] and len({r[j] for r in recs}) > 1]
    if "dropLevel" in b:
        b["dropLevel"] = {}
    if "impute" in b:
        b["impute"] = "most-frequent"
    b.pop("featureNames", None)


def _fix_fit(path, b):
    logistic = path == "/v1/logistic"
    table = b.get("table")
    x = b.get("rows")
    if isinstance(table, dict) and isinstance(table.get("columns"), list) and isinstance(table.get("records"), list):
        if not (table["columns"] and table["records"] and all(isinstance(r, list) and r for r in table["records"])):
            return
        _fix_table(b, logistic)
        x = None
    elif _matrix(x):
        for key in TABLE_ONLY:
            b.pop(key, None)
    else:
        return
    v = b.get("validation")
    if isinstance(v, dict):
        # validation refuses sampleWeight (for now); every part keeps rows of every class: at least 4 of each
        # class (so 2 folds or a held-out fraction in [0.25, 0.5] leave two on the training side).
        b.pop("sampleWeight", None)
        if "folds" in v:
            v["folds"] = 2
        if _num(v.get("holdout")):
            v["holdout"] = max(0.25, min(0.5, v["holdout"]))
    least = 16 if isinstance(v, dict) else (2 if path != "/v1/kmeans" else 1)
    w = None
    if x is not None:
        w = _width(x, b.get("init")) if path == "/v1/kmeans" else _width(x)
        x = _fit_width(x, w)
        if len(x) < least:
            x = _resize(x, least)
        if path != "/v1/kmeans" and logistic:
            # Newton steps on values and weights near 1e15 overflow to NaN (reported as NON_FINITE, a known
            # limit of the fit, not of the HTTP contract): positive cases keep them to a moderate scale.
            x = [[max(-1e3, min(1e3, c)) for c in r] for r in x]
        b["rows"] = x
        n = len(x)
    else:
        recs = b["table"]["records"]
        if len(recs) < least:
            b["table"]["records"] = recs = _resize(recs, least)
        n = len(recs)
    if path != "/v1/kmeans":
        # Without a penalty a regression needs a full-rank X (the server names a collinear or constant column
        # and refuses it), and a multiclass one always needs a penalty: positive cases get an L2 penalty.
        if not b.get("l2"):
            b["l2"] = 1.0
        if logistic and isinstance(b.get("sampleWeight"), list):
            b["sampleWeight"] = [min(1e3, c) if _num(c) else c for c in b["sampleWeight"]]
    if path == "/v1/kmeans":
        init = b.get("init")
        if x is None or isinstance(v, dict):
            # An encoded table's distinct rows (and a training part's) are not known here: one cluster always fits.
            b["k"] = 1
            if _matrix(init):
                b["init"] = "k-means++"
        else:
            # k clusters need k distinct rows (and k distinct initial centroids when they are given).
            d = len(_distinct(x))
            if _matrix(init):
                init = _distinct(_fit_width(init, w))[:d]
                b["init"] = init
                b["k"] = len(init)
            elif isinstance(b.get("k"), int):
                b["k"] = max(1, min(b["k"], d))
    t = b.get("target")
    if isinstance(t, list) and t and all(_num(c) for c in t):
        t = _resize(t, n)
        if logistic:
            # Classes 0 … K−1, each on two rows or more (four with validation); K = 2 is the binary model.
            per = 4 if isinstance(v, dict) else 2
            k = max(2, min(len(set(t)), n // per, 4))
            t = [i % k for i in range(n)]
            if k > 2 and b.get("fitIntercept") is False:
                b.pop("fitIntercept")
        b["target"] = t
    _fix_weights(b, n)
    if logistic and isinstance(b.get("sampleWeight"), list):
        # Every class keeps a positive weight.
        for i in range(min(n, 8)):
            if not b["sampleWeight"][i] > 0:
                b["sampleWeight"][i] = 1.0
    if w is not None:
        _fix_names(b, w)


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
        _fix_fit(path, b)
    elif path == "/v1/kmeans/choose-k":
        x = b.get("rows")
        if not _matrix(x):
            return
        w = _width(x)
        x = _fit_width(x, w)
        # k clusters need k distinct rows and a silhouette needs k below the rows: pad with distinct rows (after
        # dropping repeated ones, so the rows stay within the schema's maxItems).
        if len(_distinct(x)) < 3:
            x = _distinct(x)
        i = 0
        while len(_distinct(x)) < 3:
            x.append([float(i + 2)] * w)
            i += 1
        b["rows"] = x
        d = len(_distinct(x))
        ks = b.get("ks")
        if isinstance(ks, list) and ks and all(isinstance(k, int) for k in ks):
            b["ks"] = sorted({max(1, min(k, d - 1)) for k in ks})
        else:
            b["ks"] = [2]
        if isinstance(b.get("sampleSize"), int):
            # A silhouette sample must hold two clusters or more, which a small sample may not (a 400 that names
            # the rule): positive cases score every row.
            b["sampleSize"] = max(b["sampleSize"], len(x))
    elif path == "/v1/models/{id}/lift":
        model_id = case.path_parameters.get("id")
        m = _model(model_id)
        if m is None:
            return
        if m.get("kind") != "logistic":
            # Lift is for binary logistic models: any other model's id is swapped for one that does not exist (404).
            case.path_parameters["id"] = "mdl_0000000000000000"
            return
        x, t = b.get("rows"), b.get("target")
        cols = int(m.get("cols"))
        if _matrix(x) and isinstance(t, list) and len(t) >= 10:
            n = len(t)
            b["rows"] = _resize(_fit_width([r + [0.0] * cols for r in x], cols), n)
            if 1 not in t:
                t[0] = 1
    elif path == "/v1/models/{id}/predict":
        cols = _model_cols(case.path_parameters.get("id"))
        if isinstance(b.get("table"), dict) and cols:
            # A table needs a model fitted on one with the same columns; rows of the model's width always fit.
            b.pop("table")
            b["rows"] = [[0.0] * cols]
        x = b.get("rows")
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
        # A TF-IDF or BM25 weighting is an item kNN option that replaces the centring of the similarity, and bm25
        # (a plain dot product) has no shrink term.
        if b.get("weighting") not in (None, "none"):
            if b.get("algo") not in (None, "itemknn"):
                b.pop("weighting", None)
            else:
                b["similarity"] = "cosine"
                if b.get("weighting") == "bm25":
                    b["shrink"] = 0
        # ALS factors are at most the catalogue (two items at least, as above).
        if isinstance(b.get("factors"), int):
            b["factors"] = min(b["factors"], 2)
        # minItemSupport drops rarer items; any bound above 1 may leave fewer than the two items a model needs.
        if "minItemSupport" in b:
            b["minItemSupport"] = 1


@schemathesis.hook
def map_case(ctx, case):
    if not _positive(case):
        return case
    path = case.operation.path
    if isinstance(case.body, dict):
        # Cases of one phase may share nested values: edit a copy, so no fix leaks into another case.
        case.body = copy.deepcopy(case.body)
        _fix_body(path, case.body, case)
    elif case.media_type in (NPY, ARROW):
        cols = 3
        if path == "/v1/models/{id}/predict":
            cols = _model_cols(case.path_parameters.get("id")) or 3
        case.media_type = NPY
        case.body = _npy(4, cols)
    return case
