"""River 0.26.1 on the same streams as benches/drift.rs (default settings), updates per second.

/work/venvs/river/bin/python crates/kiln-drift/benches/river_bench.py
Single-threaded Python loop `for x in xs: det.update(x)`, a fresh detector per run; 10 runs per
detector (KSWIN: 3), reporting the median run (like criterion's estimate on kiln's side) and the
best run.
"""
import json
import os
import statistics
import time

import numpy as np
from river import drift
from river.drift import binary

here = os.path.dirname(os.path.abspath(__file__))
real = np.load(os.path.join(here, "..", "tests", "data", "gauss_nodrift.npy")).tolist()
bits = [1 if x > 1.2816 else 0 for x in real]

cases = [
    ("adwin", drift.ADWIN, real),
    ("page-hinkley", drift.PageHinkley, real),
    ("ddm", binary.DDM, bits),
    ("eddm", binary.EDDM, bits),
    ("hddm-a", binary.HDDMA, bits),
    ("hddm-w", binary.HDDMW, bits),
    ("kswin", lambda: drift.KSWIN(seed=42), real[:20_000]),
]
out = {}
for name, make, xs in cases:
    times = []
    for _ in range(3 if name == "kswin" else 10):
        det = make()
        t0 = time.perf_counter()
        for x in xs:
            det.update(x)
        times.append(time.perf_counter() - t0)
    out[name] = {
        "updates_per_s_median": len(xs) / statistics.median(times),
        "updates_per_s_best": len(xs) / min(times),
        "n": len(xs),
    }
print(json.dumps(out, indent=1))
