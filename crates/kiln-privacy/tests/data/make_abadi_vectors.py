"""dp_accounting 0.6.0's epsilon for the Abadi et al. 2016 setting, for tests/private_by_default.rs.

q = 0.01, sigma = 4, 10^4 steps, delta = 1e-5, Poisson-subsampled Gaussian, add/remove:
RDP with the default orders and improved conversion (RdpAccountant()), PLD with
value_discretization_interval 1e-4 (pessimistic, connect-the-dots: PLDAccountant defaults).

python3 -m venv /work/venvs/dp && /work/venvs/dp/bin/pip install dp-accounting==0.6.0
/work/venvs/dp/bin/python make_abadi_vectors.py > abadi_dp_accounting.json
"""
import json

import dp_accounting
from dp_accounting.pld import pld_privacy_accountant as pldacc
from dp_accounting.rdp import rdp_privacy_accountant as rdp

q, sigma, steps, delta = 0.01, 4.0, 10_000, 1e-5
event = dp_accounting.SelfComposedDpEvent(
    dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
r = rdp.RdpAccountant()
r.compose(event)
p = pldacc.PLDAccountant(value_discretization_interval=1e-4)
p.compose(event)
print(json.dumps({
    "generator": "make_abadi_vectors.py with dp_accounting " + dp_accounting.__version__
    if hasattr(dp_accounting, "__version__") else "make_abadi_vectors.py with dp_accounting 0.6.0",
    "q": q, "sigma": sigma, "steps": steps, "delta": delta,
    "rdp_eps": r.get_epsilon(delta),
    "pld_eps": p.get_epsilon(delta),
}, indent=1))
