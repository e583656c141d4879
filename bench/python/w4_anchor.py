"""W4 OLS on a vendor anchor (config "anchor": aoclda | sklearnex): LinearRegression(fit_intercept=False)
.fit(X, y) on the f32 X and y as float32 (both anchors then run in single precision, like numpy f32)."""
import warnings

from _anchors import load
from _common import config, emit, measure, require, set_threads

cfg = config()
classes, verifier, version = load(cfg["anchor"], "LinearRegression")
(np,) = require("numpy")
set_threads(cfg["threads"])
X = np.load(cfg["x"])[: cfg["n"]]
y = np.load(cfg["y"])[: cfg["n"]].astype(np.float32)
state = {}


def run():
    verifier.reset()
    m = classes["LinearRegression"](fit_intercept=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X, y)
    verifier.check(m)
    state["m"] = m


r = measure(run, cfg["budget"])
r["coef"] = [float(v) for v in np.ravel(state["m"].coef_)]
r["verified"] = verifier.evidence
r["version"] = version
emit(r)
