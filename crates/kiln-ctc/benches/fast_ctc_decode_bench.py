"""Times fast-ctc-decode's (and, if installed, pyctcdecode's) beam search on the exact input
kiln's criterion bench uses.

Run the kiln bench first (it writes target/ctc-bench/beam_probs_T1000_C29.npy and kiln's best
transcript), then:

    python3 -m venv /tmp/ctcvenv && /tmp/ctcvenv/bin/pip install fast-ctc-decode numpy
    /tmp/ctcvenv/bin/pip install pyctcdecode   # optional
    /tmp/ctcvenv/bin/python crates/kiln-ctc/benches/fast_ctc_decode_bench.py

Prints the median of 15 runs (after 3 warm-up runs) for beam 32 with the beam cut threshold
0 (no class pruning) and exp(-10) (kiln's default per-frame cut, min_log_prob = -10); for
pyctcdecode (pure Python, no LM) the median of 5 runs with token_min_logp = -10.
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


def median_ms(run, runs=15, warmup=3):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def pyctcdecode_line(probs, kiln_best):
    try:
        from pyctcdecode import build_ctcdecoder
    except ImportError:
        return "pyctcdecode not installed"
    decoder = build_ctcdecoder([""] + list(ALPHABET[1:]))
    logp = np.log(np.maximum(probs, 1e-30)).astype(np.float64)

    def run():
        return decoder.decode(logp, beam_width=32, token_min_logp=-10.0)

    text = run()
    same = "same" if text == kiln_best else "DIFFERENT"
    ms = median_ms(run, runs=5, warmup=1)
    return (f"pyctcdecode beam 32, token_min_logp -10, no LM: {ms:.2f} ms "
            f"(text {same} as kiln's best, {len(text)} chars)")


def main():
    probs = np.load(DATA / "beam_probs_T1000_C29.npy").astype(np.float32)
    assert probs.shape == (1000, len(ALPHABET)), probs.shape
    kiln_best = (DATA / "beam_kiln_best.txt").read_text()
    for name, cut in [("no class cut", 0.0), ("cut exp(-10)", math.exp(-10))]:
        seq, _path = beam_search(probs, ALPHABET, beam_size=32, beam_cut_threshold=cut)
        same = "same" if seq == kiln_best else "DIFFERENT"
        ms = median_ms(lambda: beam_search(probs, ALPHABET, beam_size=32, beam_cut_threshold=cut))
        print(f"fast-ctc-decode beam 32, {name}: {ms:.2f} ms "
              f"(best path {same} as kiln's, {len(seq)} labels)")
    print(pyctcdecode_line(probs, kiln_best))


if __name__ == "__main__":
    main()
