"""Extra dp_accounting 0.6.0 reference values for kiln-privacy's tests.

Run: python3 -m venv /tmp/dpvenv && /tmp/dpvenv/bin/pip install dp-accounting==0.6.0
     /tmp/dpvenv/bin/python make_extra_vectors.py > dp_accounting_extra.json
"""
import json
import math
import logging

logging.disable(logging.WARNING)

import dp_accounting
from dp_accounting.rdp import rdp_privacy_accountant as rdp
from dp_accounting.pld import pld_privacy_accountant as pldacc

base = json.load(open("privacy_dp_accounting.json"))
orders = base["meta"]["rdp_orders_default"]

out = {"meta": {"dp_accounting_version": "0.6.0",
                "generator": "make_extra_vectors.py (this directory)"}}

# Which default orders dp_accounting excludes (inf) for each grid point.
dropped = []
for row in base["grid_delta_1e_5"]:
    r = rdp._compute_rdp_poisson_subsampled_gaussian(row["q"], row["sigma"], orders)
    bad = [o for o, v in zip(orders, r) if not math.isfinite(v)]
    dropped.append({"q": row["q"], "sigma": row["sigma"], "dropped_orders": bad})
out["dropped_orders"] = dropped

# delta for epsilon (RDP, improved conversion) and Laplace / heterogeneous ledgers.
cases = []
for (q, s, n, eps) in [(0.01, 1.1, 1000, 1.0), (0.001, 0.8, 1000, 2.0), (0.05, 2.0, 1000, 3.0)]:
    acc = rdp.RdpAccountant(orders)
    acc.compose(dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(s)), n))
    cases.append({"kind": "rdp_delta", "q": q, "sigma": s, "steps": n,
                  "epsilon": eps, "delta": acc.get_delta(eps)})
for (b, n, delta) in [(1.0, 1, 1e-5), (2.0, 10, 1e-5), (10.0, 100, 1e-6)]:
    acc = rdp.RdpAccountant(orders)
    acc.compose(dp_accounting.SelfComposedDpEvent(dp_accounting.LaplaceDpEvent(b), n))
    cases.append({"kind": "rdp_laplace", "scale": b, "count": n, "delta": delta,
                  "epsilon": acc.get_epsilon(delta)})
ledger = [(0.01, 1.1, 500), (0.02, 1.5, 300), (0.005, 0.9, 700)]
for delta in [1e-5, 1e-7]:
    acc = rdp.RdpAccountant(orders)
    p = pldacc.PLDAccountant(value_discretization_interval=1e-4)
    for (q, s, n) in ledger:
        ev = dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(s)), n)
        acc.compose(ev)
        p.compose(ev)
    cases.append({"kind": "ledger", "phases": [list(x) for x in ledger], "delta": delta,
                  "rdp_epsilon": acc.get_epsilon(delta), "pld_epsilon": p.get_epsilon(delta)})
for (q, s, n, eps) in [(0.01, 1.1, 1000, 1.0), (0.05, 2.0, 100, 0.5)]:
    p = pldacc.PLDAccountant(value_discretization_interval=1e-4)
    p.compose(dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(s)), n))
    cases.append({"kind": "pld_delta", "q": q, "sigma": s, "steps": n, "epsilon": eps,
                  "delta": p.get_delta(eps)})
out["cases"] = cases

# Fixed-size sampling without replacement: RdpAccountant under REPLACE_ONE (the only relation
# it accepts for SampledWithoutReplacementDpEvent), default orders, improved conversion.
NR = dp_accounting.NeighboringRelation


def wor(n, m, s):
    return dp_accounting.SampledWithoutReplacementDpEvent(n, m, dp_accounting.GaussianDpEvent(s))


wor_grid = []
for (n, m) in [(100, 50), (1000, 10), (60000, 256), (50000, 5000)]:
    for s in [0.8, 1.1, 4.0]:
        for steps in [1, 100, 10000]:
            acc = rdp.RdpAccountant(orders, neighboring_relation=NR.REPLACE_ONE)
            acc.compose(dp_accounting.SelfComposedDpEvent(wor(n, m, s), steps))
            eps, order = acc.get_epsilon_and_optimal_order(1e-5)
            wor_grid.append({"dataset_size": n, "batch_size": m, "sigma": s, "steps": steps,
                             "delta": 1e-5, "rdp_epsilon": eps, "optimal_order": float(order)})
out["wor_grid_delta_1e_5"] = wor_grid
out["wor_curves_single_step"] = [
    {"dataset_size": n, "batch_size": m, "sigma": s, "orders": orders,
     "rdp": [float(x) for x in rdp._compute_rdp_sample_wor_gaussian(m / n, s, orders)]}
    for (n, m, s) in [(1000, 10, 1.1), (60000, 256, 0.8), (100, 50, 4.0)]]
# A replace-one ledger: a without-replacement phase, then a plain Gaussian release.
acc = rdp.RdpAccountant(orders, neighboring_relation=NR.REPLACE_ONE)
acc.compose(dp_accounting.SelfComposedDpEvent(wor(60000, 256, 1.1), 2000))
acc.compose(dp_accounting.GaussianDpEvent(20.0))
out["wor_ledger"] = {"phases": [{"dataset_size": 60000, "batch_size": 256, "sigma": 1.1,
                                 "steps": 2000}, {"gaussian_sigma": 20.0, "count": 1}],
                     "delta": 1e-6, "rdp_epsilon": acc.get_epsilon(1e-6)}


# What dp_accounting 0.6 does with the events it cannot account: it raises.
def refusal(make_acc, ev):
    try:
        make_acc().compose(ev)
        return None
    except Exception as e:  # UnsupportedEventError
        return type(e).__name__


out["unsupported"] = {
    "rdp_with_replacement": refusal(
        lambda: rdp.RdpAccountant(orders, neighboring_relation=NR.REPLACE_ONE),
        dp_accounting.SampledWithReplacementDpEvent(1000, 10, dp_accounting.GaussianDpEvent(1.1))),
    "rdp_without_replacement_add_remove": refusal(
        lambda: rdp.RdpAccountant(orders), wor(1000, 10, 1.1)),
    "pld_without_replacement": refusal(
        lambda: pldacc.PLDAccountant(neighboring_relation=NR.REPLACE_ONE), wor(1000, 10, 1.1)),
}
print(json.dumps(out, indent=1))
