"""Re-runs, fully in float64, the three reference cases whose anchor computes a piece in float32.

1. smp LovaszLoss('multiclass'), batch and per image:

smp 0.6.0's Lovász fails on float64 input (its `_lovasz_grad` casts the sorted ground truth to
float32, then `torch.dot` refuses mixed dtypes), so the shared reference was made in float32,
whose Lovász weights (differences of near-equal Jaccard values) carry ~1e-5 relative error.
This script replaces only that cast (`.float()` -> `.double()`), nothing else, and records
loss and gradient in float64.
2. MONAI DiceLoss(softmax=True, squared_pred=True): MONAI's own one-hot is float32 and its
   squared path takes |y|_2 of it in float32; here the one-hot target is passed in float64
   (to_onehot_y=False), nothing patched.
3. MONAI GeneralizedDiceLoss(softmax=True, w_type="square"): MONAI computes the weights from
   `ground_o.float()`; here `w_func` is replaced by `1 / ground_o.double()**2`.

Run: /work/venvs/torch/bin/python make_f64_reruns.py  (torch 2.15, smp 0.6.0, MONAI 1.6.1)
"""
import json

import numpy as np
import segmentation_models_pytorch as smp
import segmentation_models_pytorch.losses.lovasz as lovasz
import torch


def lovasz_grad_f64(gt_sorted):
    p = len(gt_sorted)
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.double().cumsum(0)
    union = gts + (1 - gt_sorted).double().cumsum(0)
    jaccard = 1.0 - intersection / union
    if p > 1:
        jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
    return jaccard


lovasz._lovasz_grad = lovasz_grad_f64
d = json.load(open("seg_losses_monai_smp.json"))["seg_losses"]
x = np.array(d["inputs"]["logits"]).reshape(2, 3, 8, 8)
labels = torch.tensor(np.array(d["inputs"]["labels_BHW"]).reshape(2, 8, 8).astype(np.int64))
out = {
    "generator": "make_f64_reruns.py: smp 0.6.0 LovaszLoss('multiclass') with _lovasz_grad in float64, torch "
    + torch.__version__,
    "cases": [],
}
for name, per_image in [("smp_lovasz_multiclass", False), ("smp_lovasz_multiclass_per_image", True)]:
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    loss = smp.losses.LovaszLoss("multiclass", per_image=per_image)(xt, labels)
    loss.backward()
    out["cases"].append({"name": name, "loss": loss.item(), "grad_logits": xt.grad.numpy().ravel().tolist()})
import monai
from monai.losses import DiceLoss, GeneralizedDiceLoss

out["generator"] += ", MONAI " + monai.__version__
onehot = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).double()
xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
loss = DiceLoss(softmax=True, squared_pred=True)(xt, onehot)
loss.backward()
out["cases"].append({"name": "monai_dice_softmax_squared", "loss": loss.item(), "grad_logits": xt.grad.numpy().ravel().tolist()})
gdl = GeneralizedDiceLoss(softmax=True, to_onehot_y=True, w_type="square")
gdl.w_func = lambda g: torch.reciprocal(g.double() * g.double())
xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
loss = gdl(xt, labels.unsqueeze(1))
loss.backward()
out["cases"].append({"name": "monai_gdl_softmax_square", "loss": loss.item(), "grad_logits": xt.grad.numpy().ravel().tolist()})
json.dump(out, open("f64_reruns.json", "w"))
