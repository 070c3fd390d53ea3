"""PyTorch CPU timing of the cases in benches/dynamics.rs, on the same inputs.

- game_step: one simultaneous-GDA / extragradient step on f = x*y (f64, autograd.grad of the
  scalar, host-side update), and one GDA step of the GAN (1-16-1 tanh MLPs as flat parameter
  vectors, batch 256, f64, zero-sum value with log-sigmoid), lr 0.05.
- thermo_fit: one-hot windows of 2000 sequences of length 40 (width 6, built inside the timed
  region as kiln does), 10 full-batch Adam steps (lr 0.05, eps 1e-8) of the thermodynamic
  model basal + amp * sigmoid(logsumexp(mu - windows @ E)), f32, energies initialised to 0.
Inputs come from the same integer hash as the Rust bench. Median of 30 (game) / 10 (fit)
calls after warm-up, for 1 and 2 intra-op threads.

    /work/venvs/torch/bin/python crates/kiln-dynamics/benches/torch_dynamics_bench.py
"""
import statistics
import time

import torch
import torch.nn.functional as F

M64 = (1 << 64) - 1


def hash01(i):
    v = (i * 6364136223846793005 + 1442695040888963407) & M64
    return ((v >> 33) % 1_000_003) / 1_000_003.0


H = 16
P = 3 * H + 1


def mlp(theta, x):
    w1 = theta[0:H].reshape(1, H)
    b1 = theta[H:2 * H].reshape(1, H)
    w2 = theta[2 * H:3 * H].reshape(H, 1)
    b2 = theta[3 * H:3 * H + 1].reshape(1, 1)
    return torch.tanh(x @ w1 + b1) @ w2 + b2


def gda_step(f, x, y, lr):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    gx, gy = torch.autograd.grad(f(xt, yt), (xt, yt))
    gx, gy = gx.tolist(), gy.tolist()
    return [a - lr * g for a, g in zip(x, gx)], [a + lr * g for a, g in zip(y, gy)]


def extragradient_step(f, x, y, lr):
    lx, ly = gda_step(f, x, y, lr)
    xt = torch.tensor(lx, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(ly, dtype=torch.float64, requires_grad=True)
    gx, gy = torch.autograd.grad(f(xt, yt), (xt, yt))
    return [a - lr * g for a, g in zip(x, gx.tolist())], [a + lr * g for a, g in zip(y, gy.tolist())]


def timed(fn, reps, warm=3):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    n = 256
    real = torch.tensor([4 * hash01(i) - 2 for i in range(n)], dtype=torch.float64).reshape(n, 1)
    z = torch.tensor([4 * hash01(i + 1000) - 2 for i in range(n)], dtype=torch.float64).reshape(n, 1)
    gan = lambda g, d: F.logsigmoid(mlp(d, real)).mean() + F.logsigmoid(-mlp(d, mlp(g, z))).mean()
    g0 = [hash01(i + 2000) - 0.5 for i in range(P)]
    d0 = [hash01(i + 3000) - 0.5 for i in range(P)]
    xy = lambda x, y: (x * y).sum()

    N, L, W = 2000, 40, 6
    codes = torch.tensor([int(hash01(i) * 4) for i in range(N * L)]).reshape(N, L)
    y = torch.tensor([0.1 + 0.8 * hash01(i + 7) for i in range(N)], dtype=torch.float32)

    def fit():
        x = F.one_hot(codes, 4).float()  # [N, L, 4]
        win = x.unfold(1, W, 1).permute(0, 1, 3, 2).reshape(N, L - W + 1, W * 4)
        e = torch.zeros(W * 4, 1, requires_grad=True)
        mu = torch.zeros(1, requires_grad=True)
        amp = torch.tensor([2.0 * (y.max() - y.min()).item()], requires_grad=True)
        basal = torch.tensor([y.min().item()], requires_grad=True)
        opt = torch.optim.Adam([e, mu, amp, basal], lr=0.05, eps=1e-8)
        for _ in range(10):
            opt.zero_grad()
            a = mu - (win @ e).squeeze(-1)
            pred = basal + amp * torch.sigmoid(torch.logsumexp(a, dim=1))
            loss = ((pred - y) ** 2).mean()
            loss.backward()
            opt.step()

    print(f"torch {torch.__version__}")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        t = timed(lambda: gda_step(xy, [1.0], [1.0], 0.1), 30)
        print(f"[{threads} thr] game_step/xy_gda_f64: {1e6 * t:.1f} us")
        t = timed(lambda: extragradient_step(xy, [1.0], [1.0], 0.1), 30)
        print(f"[{threads} thr] game_step/xy_extragradient_f64: {1e6 * t:.1f} us")
        t = timed(lambda: gda_step(gan, g0, d0, 0.05), 30)
        print(f"[{threads} thr] game_step/gan_gda_batch256_h16_f64: {1e6 * t:.1f} us")
        t = timed(fit, 10, warm=2)
        print(f"[{threads} thr] thermo_fit/adam10_n2000_l40_w6_f32: {1e3 * t:.2f} ms")


if __name__ == "__main__":
    main()
