"""PyTorch CPU side of kiln-norm's GroupNorm bench: GroupNorm(32, 64) forward + backward on
[8, 64, 56, 56] float32, upstream gradient uniform in [-2, 2] (loss = sum(y * w), as the Rust
bench), median of repeated runs after warm-up.

    /work/venvs/torch/bin/python crates/kiln-norm/benches/torch_groupnorm_bench.py --threads 1
    /work/venvs/torch/bin/python crates/kiln-norm/benches/torch_groupnorm_bench.py --threads 2
"""

import argparse
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gn = torch.nn.GroupNorm(32, 64)
    x0 = torch.rand(8, 64, 56, 56) * 4 - 2
    w = torch.rand(8, 64, 56, 56) * 4 - 2

    def fwd_bwd():
        x = x0.clone().requires_grad_(True)
        y = gn(x)
        y.backward(w)
        return x.grad

    def fwd():
        with torch.no_grad():
            return gn(x0)

    out = {}
    for name, fn in [("fwd_bwd", fwd_bwd), ("fwd", fwd)]:
        for _ in range(5):
            fn()
        times = []
        for _ in range(a.reps):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1e3)
        out[name] = (statistics.median(times), min(times))
    print(
        f"torch {torch.__version__} threads={a.threads}: "
        f"fwd+bwd median {out['fwd_bwd'][0]:.3f} ms (min {out['fwd_bwd'][1]:.3f}), "
        f"fwd median {out['fwd'][0]:.3f} ms (min {out['fwd'][1]:.3f})"
    )


if __name__ == "__main__":
    main()
