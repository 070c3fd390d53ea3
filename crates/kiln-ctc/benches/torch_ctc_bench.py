"""PyTorch CPU timing of the loss case in benches/ctc.rs, to run in the same session.

B=32, T=500, C=29, S=100, f32, logits uniform in [-2, 2), random labels in 1..C, full lengths:
log_softmax + F.ctc_loss (mean reduction) forward and backward w.r.t. the logits.
Median of 20 calls after 3 warm-up calls, for 1 and 2 intra-op threads.

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch
    /tmp/torchvenv/bin/python crates/kiln-ctc/benches/torch_ctc_bench.py
"""
import statistics
import time

import torch
import torch.nn.functional as F

B, T, C, S = 32, 500, 29, 100


def main():
    g = torch.Generator().manual_seed(7)
    logits = torch.rand(T, B, C, generator=g) * 4.0 - 2.0
    targets = torch.randint(1, C, (B, S), generator=g)
    il = torch.full((B,), T, dtype=torch.long)
    tl = torch.full((B,), S, dtype=torch.long)

    def step():
        x = logits.clone().requires_grad_(True)
        loss = F.ctc_loss(x.log_softmax(2), targets, il, tl, reduction="mean")
        loss.backward()
        return x.grad

    print(f"torch {torch.__version__}")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for _ in range(3):
            step()
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        print(f"pytorch ctc fwd+bwd, {threads} thread(s): median {1e3 * statistics.median(times):.1f} ms "
              f"(min {1e3 * min(times):.1f})")


if __name__ == "__main__":
    main()
