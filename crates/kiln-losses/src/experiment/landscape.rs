//! Part 1 of the seed experiment: the gradient a foreground pixel receives from soft Dice and
//! soft Jaccard as the overlap grows.
//!
//! A target of `n` foreground pixels among `N`; the prediction is `t` on every foreground pixel
//! and 0 elsewhere, so `tp = n t`, `|p| = n t`, `|y| = n`. Analytically
//! `dL_D/dp_i = -2 (|p| + |y| - tp) / (|p| + |y|)^2` and `dL_J/dp_i = -1 / (|p| + |y| - tp)`:
//! at `t = 0` Dice pushes twice as hard as Jaccard (`2/n` vs `1/n`), at `t -> 1` Jaccard twice
//! as hard as Dice (`1/n` vs `1/(2n)`). The gradients here come from Burn's autodiff through
//! [`SegLoss`], not from the formulas.

use kiln_core::burn::tensor::Device;
use kiln_core::{KilnError, convert};

use crate::{Activation, EmptyClass, LossKind, SegLoss, SegLossParams, SegTarget, TargetKind};

/// Gradient magnitudes along the overlap sweep.
pub(crate) struct Landscape {
    /// Prediction value `t` on the foreground pixels.
    pub(crate) t: Vec<f64>,
    /// Soft IoU of the prediction at each `t` (= t).
    pub(crate) iou: Vec<f64>,
    /// `|dL_Dice / dp_i|` of a foreground pixel.
    pub(crate) dice: Vec<f64>,
    /// `|dL_Jaccard / dp_i|` of a foreground pixel.
    pub(crate) jaccard: Vec<f64>,
}

fn fg_gradient(
    kind: LossKind,
    p: &[f64],
    y: &[f64],
    dims: [usize; 4],
    dev: &Device,
) -> kiln_core::Result<f64> {
    let params = SegLossParams::new(kind)
        .activation(Activation::None)
        .target(TargetKind::OneHot)
        .smooth_nr(0.0)
        .smooth_dr(0.0)
        .empty(EmptyClass::CountAsOne)
        .check()?;
    let loss = SegLoss::new(params);
    let x = convert::tensor_f64(p, dims, dev)?.require_grad();
    let target = SegTarget::dense(convert::tensor_f64(y, dims, dev)?);
    let value = loss.forward(x.clone(), &target)?;
    let grads = value.backward();
    let g = x.grad(&grads).ok_or_else(|| KilnError::Numerical {
        context: "gradient landscape".into(),
        message: "the prediction received no gradient".into(),
    })?;
    Ok(convert::to_vec_f64(&g)?[0].abs())
}

/// Sweeps `t` over `[0, 1)` in `steps` steps plus `t = 1 - 1e-9` (at exactly `t = 1` the
/// `|p - y|` kink has a one-sided derivative, so the limit is taken from below).
pub(crate) fn sweep(
    foreground: usize,
    pixels: usize,
    steps: usize,
    dev: &Device,
) -> kiln_core::Result<Landscape> {
    let dims = [1, 1, 1, pixels];
    let y: Vec<f64> = (0..pixels)
        .map(|i| if i < foreground { 1.0 } else { 0.0 })
        .collect();
    let mut ts: Vec<f64> = (0..steps).map(|k| k as f64 / steps as f64).collect();
    ts.push(1.0 - 1e-9);
    let mut out = Landscape {
        t: Vec::new(),
        iou: Vec::new(),
        dice: Vec::new(),
        jaccard: Vec::new(),
    };
    for t in ts {
        let p: Vec<f64> = y.iter().map(|v| v * t).collect();
        out.dice
            .push(fg_gradient(LossKind::Dice, &p, &y, dims, dev)?);
        out.jaccard
            .push(fg_gradient(LossKind::Jaccard, &p, &y, dims, dev)?);
        out.t.push(t);
        out.iou.push(t);
    }
    Ok(out)
}
