"""DeepXDE (PyTorch backend) on kiln's Burgers problem, with kiln's preset sizes.

u_t + u u_x = nu u_xx on x in [-1, 1], t in [0, 1], nu = 0.01/pi, u(x, 0) = -sin(pi x),
u(+-1, t) = 0 (Raissi et al. 2019). FNN [2, 32, 32, 32, 32, 1] tanh, Glorot normal, 10 000
domain points + 200 boundary + 200 initial (soft conditions, DeepXDE's usual formulation;
kiln's preset imposes them exactly), float64, Adam 1000 steps at 2e-3, then L-BFGS until the
same 570 s wall-clock budget as kiln's preset. The relative L2 error is measured on kiln's
reference grid (crates/kiln-pinn/tests/data/burgers_reference_subsample.json, the exact
Cole-Hopf solution), the same points kiln's test reads.

    python3 -m venv /work/venvs/deepxde && /work/venvs/deepxde/bin/pip install torch deepxde
    DDE_BACKEND=pytorch /work/venvs/deepxde/bin/python crates/kiln-pinn/benches/deepxde_burgers.py [SECONDS]

Prints one line: L2, steps and seconds. The README states which run gave which figure.
"""
import json
import os
import sys
import time

import numpy as np

import deepxde as dde

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "..", "tests", "data", "burgers_reference_subsample.json")


def reference():
    with open(REF) as f:
        d = json.load(f)
    x = np.array(d["x"], dtype=float)
    t = np.array(d["t"], dtype=float)
    u = np.array(d["usol"], dtype=float)  # usol[i][j]: x index i, t index j
    xx, tt = np.meshgrid(x, t, indexing="ij")
    pts = np.stack([xx.ravel(), tt.ravel()], axis=1)
    return pts, u.ravel()[:, None]


def main(budget):
    dde.config.set_default_float("float64")
    dde.config.set_random_seed(0)
    nu = 0.01 / np.pi
    geom = dde.geometry.Interval(-1, 1)
    time_domain = dde.geometry.TimeDomain(0, 1)
    geomtime = dde.geometry.GeometryXTime(geom, time_domain)

    def pde(x, y):
        dy_x = dde.grad.jacobian(y, x, i=0, j=0)
        dy_t = dde.grad.jacobian(y, x, i=0, j=1)
        dy_xx = dde.grad.hessian(y, x, i=0, j=0)
        return dy_t + y * dy_x - nu * dy_xx

    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_b: on_b)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_i: on_i)
    data = dde.data.TimePDE(geomtime, pde, [bc, ic], num_domain=10000, num_boundary=200,
                            num_initial=200)
    net = dde.nn.FNN([2] + [32] * 4 + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    pts, exact = reference()
    t0 = time.perf_counter()
    model.compile("adam", lr=2e-3)
    model.train(iterations=1000, display_every=100000, verbose=0)
    left = budget - (time.perf_counter() - t0)
    steps = 0
    if left > 0:
        # DeepXDE's L-BFGS has no time limit: run it in chunks until the budget is spent.
        dde.optimizers.config.set_LBFGS_options(maxiter=100)
        model.compile("L-BFGS")
        while time.perf_counter() - t0 < budget:
            model.train(display_every=100000, verbose=0)
            steps += 100
    dt = time.perf_counter() - t0
    pred = model.predict(pts)
    l2 = np.linalg.norm(pred - exact) / np.linalg.norm(exact)
    print(f"deepxde {dde.__version__} burgers float64: L2 {l2:.3e}, 1000 Adam + <= {steps} L-BFGS, "
          f"{dt:.1f} s (budget {budget} s)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 570.0)
