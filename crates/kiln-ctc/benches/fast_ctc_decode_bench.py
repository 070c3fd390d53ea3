"""Times fast-ctc-decode's beam search on the exact input kiln's criterion bench uses.

Run the kiln bench first (it writes target/ctc-bench/beam_probs_T1000_C29.npy and kiln's best
transcript), then:

    python3 -m venv /tmp/ctcvenv && /tmp/ctcvenv/bin/pip install fast-ctc-decode numpy
    /tmp/ctcvenv/bin/python crates/kiln-ctc/benches/fast_ctc_decode_bench.py

Prints the median of 15 runs (after 3 warm-up runs) for beam 32 with the beam cut threshold
0 (no class pruning) and exp(-10) (kiln's default per-frame cut, min_log_prob = -10).
"""

import math
import pathlib
import statistics
import time

import numpy as np
from fast_ctc_decode import beam_search

ROOT = pathlib.Path(__file__).resolve().parents[3]
DATA = ROOT / "target" / "ctc-bench"
ALPHABET = "_ abcdefghijklmnopqrstuvwxyz'"


def median_ms(probs, cut, runs=15, warmup=3):
    for _ in range(warmup):
        beam_search(probs, ALPHABET, beam_size=32, beam_cut_threshold=cut)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        beam_search(probs, ALPHABET, beam_size=32, beam_cut_threshold=cut)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main():
    probs = np.load(DATA / "beam_probs_T1000_C29.npy").astype(np.float32)
    assert probs.shape == (1000, len(ALPHABET)), probs.shape
    kiln_best = (DATA / "beam_kiln_best.txt").read_text()
    for name, cut in [("no class cut", 0.0), ("cut exp(-10)", math.exp(-10))]:
        seq, _path = beam_search(probs, ALPHABET, beam_size=32, beam_cut_threshold=cut)
        same = "same" if seq == kiln_best else "DIFFERENT"
        print(f"fast-ctc-decode beam 32, {name}: {median_ms(probs, cut):.2f} ms "
              f"(best path {same} as kiln's, {len(seq)} labels)")


if __name__ == "__main__":
    main()
