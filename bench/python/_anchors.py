"""The vendor-optimised scikit-learn anchors, each checked to have really run its own code.

- "aoclda": AMD's AOCL-DA. `skpatch()` swaps its classes into sklearn's modules; a patched estimator is an
  instance of a class from `aoclda.sklearn` with `aocl = True` (AOCL-DA has no verbose log: the patch prints
  the list of patched classes, and the class itself is the evidence). Its LogisticRegression is L-BFGS only.
- "sklearnex": Intel's scikit-learn-intelex, imported from `sklearnex.*` directly. Its `sklearnex` logger
  at INFO (what SKLEARNEX_VERBOSE=INFO turns on) says, for every fit, "running accelerated version" or
  "fallback to original Scikit-learn"; a fit counts only when the first appears and the second never does.

A missing package is the usual one-line skip; an anchor that fell back is an error (the row must not pass
for the vendor's code).
"""
import contextlib
import io
import logging

from _common import emit

import sys


class Verifier:
    def __init__(self, anchor):
        self.anchor = anchor
        self.log = io.StringIO()
        self.evidence = None
        if anchor == "sklearnex":
            handler = logging.StreamHandler(self.log)
            logger = logging.getLogger("sklearnex")
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)

    def check(self, estimator):
        """Raises unless `estimator`'s last fit ran the anchor's own code; returns a one-line evidence."""
        if self.anchor == "aoclda":
            mod = type(estimator).__module__
            if not (mod.startswith("aoclda.") and getattr(estimator, "aocl", False)):
                raise RuntimeError(f"AOCL-DA fell back: the estimator is {mod}.{type(estimator).__name__}")
            self.evidence = f"{mod}.{type(estimator).__name__} (aocl=True)"
        else:
            text = self.log.getvalue()
            if "fallback to original" in text or "running accelerated" not in text:
                lines = [line for line in text.splitlines() if line.strip()]
                raise RuntimeError(f"scikit-learn-intelex fell back: {lines[-1] if lines else 'no sklearnex log line'}")
            self.evidence = sorted({line.strip() for line in text.splitlines() if "running accelerated" in line})[0]
        return self.evidence

    def reset(self):
        self.log.seek(0)
        self.log.truncate()


def load(anchor, *names):
    """(classes by name, Verifier, version) for the anchor; prints the skip line and exits when it is absent.
    names: KMeans, LinearRegression, LogisticRegression, NearestNeighbors."""
    where = {
        "KMeans": "cluster",
        "LinearRegression": "linear_model",
        "LogisticRegression": "linear_model",
        "NearestNeighbors": "neighbors",
    }
    try:
        if anchor == "aoclda":
            import aoclda
            from aoclda.sklearn import skpatch

            with contextlib.redirect_stdout(io.StringIO()):
                skpatch(list(names))
            import importlib

            classes = {n: getattr(importlib.import_module(f"sklearn.{where[n]}"), n) for n in names}
            version = getattr(aoclda, "__version__", None) or _dist_version("aoclda")
        else:
            import importlib

            import sklearnex

            classes = {n: getattr(importlib.import_module(f"sklearnex.{where[n]}"), n) for n in names}
            version = getattr(sklearnex, "__version__", None)
            dist = _dist_version("scikit-learn-intelex")
            version = dist or version
    except ImportError as e:
        emit({"skipped": f"{'aoclda' if anchor == 'aoclda' else 'scikit-learn-intelex'} not installed ({e.name})"})
        sys.exit(0)
    return classes, Verifier(anchor), version


def _dist_version(dist):
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return None
