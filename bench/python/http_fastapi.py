"""HTTP peer: a minimal FastAPI app serving the same fitted logistic model (the coefficients and intercept
Quiver fitted, loaded into scikit-learn's LogisticRegression) on 127.0.0.1, one uvicorn worker.
POST /predict {"rows": [[...], ...]} -> {"predictions": [p, ...]} (the positive-class probability).
Prints one JSON line {"port": N} when it listens; the harness kills it when done."""
import socket

from _common import config, emit, require

np, linear_model, fastapi, uvicorn = require("numpy", "sklearn.linear_model", "fastapi", "uvicorn")
cfg = config()

model = linear_model.LogisticRegression()
model.classes_ = np.array([0, 1])
model.coef_ = np.array([cfg["coefficients"]], dtype=np.float64)
model.intercept_ = np.array([cfg["intercept"]], dtype=np.float64)
model.n_features_in_ = len(cfg["coefficients"])

app = fastapi.FastAPI()


@app.post("/predict")
def predict(body: dict):
    x = np.asarray(body["rows"], dtype=np.float64)
    return {"predictions": model.predict_proba(x)[:, 1].tolist()}


sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
emit({"port": port})
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
