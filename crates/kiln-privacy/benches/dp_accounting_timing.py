"""Times dp_accounting 0.6 on the same queries as benches/privacy.rs, for the README ratios.

python3 -m venv /tmp/dpvenv && /tmp/dpvenv/bin/pip install dp-accounting==0.6.0
/tmp/dpvenv/bin/python crates/kiln-privacy/benches/dp_accounting_timing.py
"""
import logging
import time

logging.disable(logging.WARNING)

import dp_accounting
from dp_accounting import mechanism_calibration as mc
from dp_accounting.pld import pld_privacy_accountant as pldacc
from dp_accounting.rdp import rdp_privacy_accountant as rdp


def event(q, s, n):
    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(s)), n)


def best(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


def rdp_query():
    a = rdp.RdpAccountant()
    a.compose(event(0.01, 1.1, 10_000))
    return a.get_epsilon(1e-5)


def pld_query(s):
    a = pldacc.PLDAccountant(value_discretization_interval=1e-4)
    a.compose(event(0.01, s, 10_000))
    return a.get_epsilon(1e-5)


def calibrate(make, tol):
    return mc.calibrate_dp_mechanism(
        make, lambda s: event(0.01, s, 10_000), 1.0, 1e-5,
        mc.ExplicitBracketInterval(0.1, 10.0), tol=tol)


NR = dp_accounting.NeighboringRelation


def wor_event(s, n):
    return dp_accounting.SelfComposedDpEvent(dp_accounting.SampledWithoutReplacementDpEvent(
        60_000, 256, dp_accounting.GaussianDpEvent(s)), n)


def wor_query():
    a = rdp.RdpAccountant(neighboring_relation=NR.REPLACE_ONE)
    a.compose(wor_event(1.1, 1_000))
    return a.get_epsilon(1e-5)


print("rdp_query_q0.01_s1.1_1e4", best(rdp_query, 7))
print("rdp_wor_query_n60000_m256_s1.1_1e3", best(wor_query, 3))
print("rdp_wor_calibrate_eps1_n60000_m256_1e3", best(lambda: mc.calibrate_dp_mechanism(
    lambda: rdp.RdpAccountant(neighboring_relation=NR.REPLACE_ONE),
    lambda s: wor_event(s, 1_000), 1.0, 1e-5, mc.ExplicitBracketInterval(0.1, 10.0), tol=1e-4), 1))
print("rdp_calibrate_eps1_q0.01_1e4", best(lambda: calibrate(rdp.RdpAccountant, 1e-4), 3))
print("pld_query_q0.01_s1.1_1e4", best(lambda: pld_query(1.1), 3))
print("pld_query_q0.01_s4_1e4", best(lambda: pld_query(4.0), 3))
print("pld_calibrate_eps1_q0.01_1e4", best(
    lambda: calibrate(lambda: pldacc.PLDAccountant(value_discretization_interval=1e-4), 1e-3), 1))
