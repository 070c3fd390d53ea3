"""Runs river 0.26.1 (the venv's) on the streams of drift_river.json with every detector label
found there and saves drifts and warning indices to river_0261.json (run from the repo root:
   /work/venvs/river/bin/python crates/kiln-drift/tests/data/make_river_0261.py)."""
import json
import os

import numpy as np
import river
from river import drift
from river.drift import binary

here = os.path.dirname(os.path.abspath(__file__))
ref = json.load(open(os.path.join(here, "drift_river.json")))
ns = {
    "ADWIN": drift.ADWIN, "PageHinkley": drift.PageHinkley, "KSWIN": drift.KSWIN,
    "DDM": binary.DDM, "EDDM": binary.EDDM, "HDDM_A": binary.HDDMA, "HDDM_W": binary.HDDMW,
}


def make(label):
    expr = label.replace("river.", "").replace("binary.", "")
    for mode in ("up", "down", "both"):
        expr = expr.replace(f"mode={mode}", f"mode='{mode}'")
    return eval(expr, {}, ns)


def stream(name):
    if name == "gauss_nodrift":
        return np.load(os.path.join(here, "gauss_nodrift.npy")).tolist()
    if name in ref["streams"]:
        return ref["streams"][name]["data"]
    return ref["unit_test_streams"][name]


def run(label, xs):
    det = make(label)
    drifts, warnings = [], []
    for i, x in enumerate(xs):
        det.update(x)
        if det.drift_detected:
            drifts.append(i)
        elif getattr(det, "warning_detected", False):
            warnings.append(i)
    return {"drift": drifts, "warning": warnings}


pairs = [(s, lab) for s, dets in ref["detections"].items() for lab in dets]
pairs += [(c["stream"], c["detector"]) for c in ref["unit_test_cases"]]
pairs += [tuple(reversed(k.split(" on "))) for k in ref["defaults_on_unit_test_streams"]]
out = {"river_version": river.__version__, "note": "warning = indices where warning_detected and not drift_detected", "runs": {}}
for s, lab in pairs:
    if "KSWIN" in lab:
        continue
    out["runs"][f"{lab} on {s}"] = run(lab, stream(s))
json.dump(out, open(os.path.join(here, "river_0261.json"), "w"), separators=(",", ":"))
print(len(out["runs"]), "runs")
