"""Trims ../shared/vectors/drift_river.json into this folder (run from the repo root:
   /work/venvs/river/bin/python crates/kiln-drift/tests/data/make_data.py /work/shared/vectors/drift_river.json)."""
import json
import os
import sys

import numpy as np

src = json.load(open(sys.argv[1]))
here = os.path.dirname(os.path.abspath(__file__))
out = {
    "meta": src["meta"],
    "streams": {k: v for k, v in src["streams"].items() if k != "gauss_nodrift"},
    "detections": {
        s: {d: v for d, v in dets.items() if d.startswith("river.")}
        for s, dets in src["detections"].items()
    },
    "unit_test_streams": {k: v["data"] for k, v in src["river_unit_test_streams"]["streams"].items()},
    "unit_test_cases": src["river_unit_test_streams"]["cases"],
    "defaults_on_unit_test_streams": src["river_unit_test_streams"]["defaults_on_same_streams"],
}
out["streams"]["gauss_nodrift"] = {
    k: v for k, v in src["streams"]["gauss_nodrift"].items() if k != "data"
}
out["streams"]["gauss_nodrift"]["data_file"] = "gauss_nodrift.npy"
json.dump(out, open(os.path.join(here, "drift_river.json"), "w"), separators=(",", ":"))
np.save(os.path.join(here, "gauss_nodrift.npy"), np.asarray(src["streams"]["gauss_nodrift"]["data"], dtype="<f8"))
