"""DeepXDE (PyTorch backend) time to reach relative L2 <= 1e-3 on kiln's poisson1d problem.

-u'' = pi^2 sin(pi x) on [-1, 1], u(+-1) = 0, exact u = sin(pi x); FNN [1, 32, 32, 1] tanh,
Glorot uniform, 128 domain + 2 boundary points, Adam lr 3e-3 (kiln's poisson1d preset sizes),
float32 (DeepXDE's default) and float64. L2 on kiln's 1001 uniform evaluation points after
every 100 steps; the clock stops at the first check <= 1e-3 (the check's own cost included).
kiln's like-for-like side (soft boundary conditions, Adam only, the same check every 100 steps):

    kiln --json pinn solve --problem poisson1d --soft --lbfgs-steps 0 --adam-steps 20000 \
         --target-l2 1e-3 --check-every 100 --precision f64   # and --precision f32

    python3 -m venv /work/venvs/deepxde && /work/venvs/deepxde/bin/pip install torch deepxde
    DDE_BACKEND=pytorch /work/venvs/deepxde/bin/python crates/kiln-pinn/benches/deepxde_poisson.py
"""
import sys
import time

import numpy as np

import deepxde as dde


def run(precision):
    dde.config.set_default_float(precision)
    dde.config.set_random_seed(0)
    geom = dde.geometry.Interval(-1, 1)

    def pde(x, y):
        dy_xx = dde.grad.hessian(y, x)
        return -dy_xx - np.pi ** 2 * dde.backend.sin(np.pi * x)

    bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on_b: on_b)
    data = dde.data.PDE(geom, pde, bc, 128, 2, solution=lambda x: np.sin(np.pi * x), num_test=1000)
    net = dde.nn.FNN([1, 32, 32, 1], "tanh", "Glorot uniform")
    model = dde.Model(data, net)
    model.compile("adam", lr=3e-3)
    xs = np.linspace(-1, 1, 1001)[:, None]  # kiln's evaluation grid for poisson1d
    exact = np.sin(np.pi * xs)
    t0 = time.perf_counter()
    steps = 0
    while steps < 20000:
        model.train(iterations=100, display_every=100000, verbose=0)
        steps += 100
        pred = model.predict(xs)
        l2 = np.linalg.norm(pred - exact) / np.linalg.norm(exact)
        if l2 <= 1e-3:
            break
    dt = time.perf_counter() - t0
    print(f"deepxde {dde.__version__} {precision}: L2 {l2:.2e} after {steps} Adam steps in {dt:.2f} s")


if __name__ == "__main__":
    for p in sys.argv[1:] or ["float32", "float64"]:
        run(p)
