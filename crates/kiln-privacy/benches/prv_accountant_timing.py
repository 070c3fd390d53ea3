"""Times Microsoft's prv_accountant 0.2.0 on the PRV queries of benches/privacy.rs.

Same settings on both sides: Poisson-subsampled Gaussian, add/remove, delta 1e-5,
eps_error = max(0.01, 1e-3 * RDP epsilon) (0.01 for these queries), delta_error = 1e-3 delta;
calibration: smallest sigma with upper epsilon <= 1.0, bisection in log-sigma on [0.1, 10]
until the bracket's relative width is below 1e-3 (kiln brackets from its own start and bisects
to the same relative width; both report the end that meets the target).

python3 -m venv /work/venvs/prv && /work/venvs/prv/bin/pip install prv_accountant==0.2.0
/work/venvs/prv/bin/python crates/kiln-privacy/benches/prv_accountant_timing.py
"""
import math
import time

from prv_accountant import PRVAccountant
from prv_accountant.privacy_random_variables import PoissonSubsampledGaussianMechanism


def upper(q, s, n, eps_error=0.01):
    acc = PRVAccountant(
        prvs=[PoissonSubsampledGaussianMechanism(sampling_probability=q, noise_multiplier=s)],
        max_self_compositions=[n], eps_error=eps_error, delta_error=1e-8)
    return acc.compute_epsilon(delta=1e-5, num_self_compositions=[n])


def best(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def calibrate(target=1.0, rel_tol=1e-3):
    lo, hi = math.log(0.1), math.log(10.0)
    evals = 0
    while math.exp(hi - lo) - 1.0 > rel_tol:
        mid = 0.5 * (lo + hi)
        evals += 1
        if upper(0.01, math.exp(mid), 10_000)[2] <= target:
            hi = mid
        else:
            lo = mid
    return math.exp(hi), evals


for name, (q, s) in [("prv_query_q0.01_s1.1_1e4", (0.01, 1.1)), ("prv_query_q0.01_s4_1e4", (0.01, 4.0))]:
    t, out = best(lambda: upper(q, s, 10_000), 3)
    print(name, t, out)
t, out = best(calibrate, 1)
print("prv_calibrate_eps1_q0.01_1e4", t, out)
