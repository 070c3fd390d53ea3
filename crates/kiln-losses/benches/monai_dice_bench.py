"""MONAI DiceLoss(softmax=True, to_onehot_y=True) (or, with --loss gdl / dice-ce,
GeneralizedDiceLoss / DiceCELoss with the same arguments) forward + backward on the tensors kiln's
`benches/dice.rs` wrote ($TMPDIR/kiln_losses_bench_{logits,labels}.npy, [8, 4, 128, 128] f32
logits and an [8, 128, 128] class map), torch CPU, float32.

Run: /work/venvs/torch/bin/python crates/kiln-losses/benches/monai_dice_bench.py --threads 1
(torch 2.15, MONAI 1.6.1). Prints the median and min over --reps timed calls after warm-up.
Each call: a fresh leaf on the logits' storage, loss (one-hot of the class map, softmax,
counts), backward, and one element of the gradient read back.
"""
import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import torch
from monai.losses import DiceCELoss, DiceLoss, GeneralizedDiceLoss

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--loss", choices=["dice", "gdl", "dice-ce"], default="dice")
parser.add_argument("--reps", type=int, default=30)
parser.add_argument("--warmup", type=int, default=5)
args = parser.parse_args()
torch.set_num_threads(args.threads)

tmp = tempfile.gettempdir()
logits = torch.from_numpy(np.load(os.path.join(tmp, "kiln_losses_bench_logits.npy")))
labels = torch.from_numpy(np.load(os.path.join(tmp, "kiln_losses_bench_labels.npy"))).unsqueeze(1)
if args.loss == "dice":
    loss_fn = DiceLoss(softmax=True, to_onehot_y=True)
elif args.loss == "gdl":
    # MONAI's defaults: w_type="square", smooth_nr = smooth_dr = 1e-5, per image.
    loss_fn = GeneralizedDiceLoss(softmax=True, to_onehot_y=True)
else:
    # lambda_dice = lambda_ce = 1, CE over every class, mean over pixels.
    loss_fn = DiceCELoss(softmax=True, to_onehot_y=True)


def once():
    # A fresh leaf on the same storage (no copy), as kiln's bench does with
    # `x.clone().detach().require_grad()`; the one-hot of the class map (to_onehot_y) is inside.
    x = logits.detach().requires_grad_(True)
    loss = loss_fn(x, labels)
    loss.backward()
    return x.grad[0, 0, 0, 0].item()


for _ in range(args.warmup):
    once()
times = []
for _ in range(args.reps):
    t0 = time.perf_counter()
    once()
    times.append((time.perf_counter() - t0) * 1e3)
print(
    f"monai {type(loss_fn).__name__} fwd+bwd [8,4,128,128] f32 threads={args.threads}: "
    f"median {statistics.median(times):.3f} ms, min {min(times):.3f} ms over {args.reps} reps"
)
