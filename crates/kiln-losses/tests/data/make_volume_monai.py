"""MONAI losses on 3-D volumes, Dice+CE among them: logits [B=2, C=3, D=3, H=4, W=5] float64
(seeded normal, scale 2) and a class map [2, 3, 4, 5] with class 2 absent from image 0. Records
each loss value and its gradient with respect to the logits (row-major NCDHW, flattened) in
float64.

kiln's losses depend on the spatial positions only through sums over pixels, so a volume is
the image [B, C, D*H, W] (a free reshape); tests/volumes.rs checks that against these values.

Run: /work/venvs/torch/bin/python make_volume_monai.py > volume_monai.json
(torch 2.15, MONAI 1.6.1)
"""
import json

import monai
import numpy as np
import torch
from monai.losses import DiceCELoss, DiceLoss, GeneralizedDiceLoss, TverskyLoss

rng = np.random.default_rng(7)
B, C, D, H, W = 2, 3, 3, 4, 5
logits = rng.normal(0.0, 2.0, size=(B, C, D, H, W))
labels = rng.integers(0, C, size=(B, D, H, W))
labels[0][labels[0] == 2] = 0

cases = {
    "dice_softmax": DiceLoss(softmax=True, to_onehot_y=True),
    "jaccard_softmax": DiceLoss(softmax=True, to_onehot_y=True, jaccard=True),
    "dice_sigmoid": DiceLoss(sigmoid=True, to_onehot_y=True),
    "tversky_softmax_0.3_0.7": TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7),
    "dice_softmax_batch": DiceLoss(softmax=True, to_onehot_y=True, batch=True),
    "dice_ce_softmax": DiceCELoss(softmax=True, to_onehot_y=True),
    "dice_ce_softmax_0.4_1.6": DiceCELoss(
        softmax=True, to_onehot_y=True, lambda_dice=0.4, lambda_ce=1.6
    ),
}
out = {
    "generator": f"make_volume_monai.py: torch {torch.__version__}, MONAI {monai.__version__}, float64",
    "shape": [B, C, D, H, W],
    "logits": logits.ravel().tolist(),
    "labels": labels.ravel().tolist(),
    "cases": [],
}
for name, fn in cases.items():
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(labels, dtype=torch.float64).unsqueeze(1)
    loss = fn(x, y)
    loss.backward()
    out["cases"].append(
        {"name": name, "desc": repr(fn), "loss": loss.item(), "grad_logits": x.grad.ravel().tolist()}
    )
# Sigmoid Dice + binary cross-entropy per channel (kiln's Dice+CE with sigmoid). MONAI's
# DiceCELoss(sigmoid=True) is not this: for more than one channel it still takes the softmax
# cross-entropy (BCE only for a single channel), so the sum is built from MONAI's DiceLoss and
# torch's BCEWithLogitsLoss (mean over pixels and channels), each weight 1.
x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
y = torch.tensor(labels, dtype=torch.float64).unsqueeze(1)
y_onehot = torch.nn.functional.one_hot(torch.tensor(labels), C).permute(0, 4, 1, 2, 3).double()
dice = DiceLoss(sigmoid=True, to_onehot_y=True)
loss = dice(x, y) + torch.nn.BCEWithLogitsLoss()(x, y_onehot)
loss.backward()
out["cases"].append(
    {
        "name": "dice_bce_sigmoid",
        "desc": "DiceLoss(sigmoid=True, to_onehot_y=True) + BCEWithLogitsLoss() on the one-hot target",
        "loss": loss.item(),
        "grad_logits": x.grad.ravel().tolist(),
    }
)
print(json.dumps(out))
