"""PyTorch CPU side of kiln-norm's GroupNorm bench: GroupNorm(32, 64) forward + backward on
[8, 64, 56, 56] float32, input and upstream gradient uniform in [-2, 2] (loss = sum(y * w), as
the Rust bench), median and min of repeated runs after warm-up.

What one timed fwd+bwd repetition contains: `y = gn(x)` (allocates y, saves mean/rstd) and
`y.backward(w)` (autograd engine, GroupNorm backward kernel, allocates x.grad and the
gamma/beta gradients). Not timed: the input leaf is made once, outside the loop (no copy of
x), and `x.grad` / the parameter gradients are reset to None before each repetition so every
repetition writes fresh gradients instead of accumulating into old ones (as kiln's fused
backward overwrites its `dx`). `fwd_bwd_loss` is the same through the loss `sum(y * w)`
(autograd runs the product and the sum too), one element of `x.grad` read back: the like of
kiln's training-through-tensors rows.

    /work/venvs/torch/bin/python crates/kiln-norm/benches/torch_groupnorm_bench.py --threads 1
    /work/venvs/torch/bin/python crates/kiln-norm/benches/torch_groupnorm_bench.py --threads 2
"""

import argparse
import statistics
import time

import torch


def timed(fn, before, warmup, reps):
    for _ in range(warmup):
        before()
        fn()
    times = []
    for _ in range(reps):
        before()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return {
        "mean": statistics.fmean(times),
        "median": statistics.median(times),
        "min": times[0],
        "p10": times[len(times) // 10],
        "p90": times[(len(times) * 9) // 10],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gn = torch.nn.GroupNorm(32, 64)
    x0 = torch.rand(8, 64, 56, 56) * 4 - 2
    w = torch.rand(8, 64, 56, 56) * 4 - 2
    x = x0.detach().requires_grad_(True)  # one leaf, shares x0's storage

    def reset():
        x.grad = None
        gn.zero_grad(set_to_none=True)

    def fwd_bwd():
        y = gn(x)
        y.backward(w)
        return x.grad

    def fwd_bwd_loss():
        # As kiln's tensor rows (`*_fwd_bwd_tensor`, `burn_composite_fwd_bwd`): the loss
        # sum(y * w) through autograd, one element of x.grad read back.
        y = gn(x)
        (y * w).sum().backward()
        return x.grad[0, 0, 0, 0].item()

    def fwd():
        with torch.no_grad():
            return gn(x0)

    out = {
        "fwd_bwd": timed(fwd_bwd, reset, a.warmup, a.reps),
        "fwd_bwd_loss": timed(fwd_bwd_loss, reset, a.warmup, a.reps),
        "fwd": timed(fwd, lambda: None, a.warmup, a.reps),
    }
    for name, s in out.items():
        print(
            f"torch {torch.__version__} threads={a.threads} {name}: median {s['median']:.3f} ms "
            f"(min {s['min']:.3f}, p10 {s['p10']:.3f}, p90 {s['p90']:.3f}, mean {s['mean']:.3f}; "
            f"{a.reps} reps)"
        )


if __name__ == "__main__":
    main()
