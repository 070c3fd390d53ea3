//! Hard (non-differentiable) per-image, per-class Dice and IoU: what the soft losses are
//! surrogates of.

use kiln_core::burn::tensor::Tensor;
use kiln_core::convert;
use serde::Serialize;

use crate::errors::Result;
use crate::hyperparams::{Activation, TargetKind};
use crate::loss::{SegLoss, check_finite};
use crate::target::SegTarget;

/// Hard Dice and IoU per (image, class); `None` where both prediction and target are empty
/// (the score is undefined there, MONAI `DiceMetric(ignore_empty=True)` gives NaN).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HardScores {
    /// Number of images `B`.
    pub images: usize,
    /// Number of classes `C` (every channel, background included).
    pub classes: usize,
    /// `2|P ∩ Y| / (|P| + |Y|)`, row-major `[B, C]`.
    pub dice: Vec<Option<f64>>,
    /// `|P ∩ Y| / |P ∪ Y|`, row-major `[B, C]`.
    pub iou: Vec<Option<f64>>,
}

/// One class's scores averaged over the images where they are defined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    /// Class (channel) index.
    pub class: usize,
    /// Mean hard Dice, `None` if undefined in every image.
    pub dice: Option<f64>,
    /// Mean hard IoU, `None` if undefined in every image.
    pub iou: Option<f64>,
}

impl HardScores {
    /// Per-class means over the images where the score is defined.
    pub fn per_class(&self) -> Vec<ClassScore> {
        let mean = |v: &[Option<f64>], c: usize| {
            let xs: Vec<f64> = (0..self.images)
                .filter_map(|b| v[b * self.classes + c])
                .collect();
            (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
        };
        (0..self.classes)
            .map(|class| ClassScore {
                class,
                dice: mean(&self.dice, class),
                iou: mean(&self.iou, class),
            })
            .collect()
    }
}

/// Hard scores of `logits` `[B, C, H, W]` against `target`, with the loss's activation,
/// target kind and ignore index. Predicted masks: softmax (or probabilities with a class-index
/// target) -> the argmax class; sigmoid -> `logit > 0` per channel; probabilities otherwise ->
/// `p > 0.5`. Dense targets count as foreground where `y >= 0.5`. Ignored pixels are skipped.
pub fn hard_scores(loss: &SegLoss, logits: &Tensor<4>, target: &SegTarget) -> Result<HardScores> {
    check_finite(logits)?;
    let prepared = loss.prepare(target, logits)?;
    let [b, c, h, w] = logits.dims();
    let hw = h * w;
    let x = convert::to_vec_f64(logits)?;
    let params = loss.params();
    let argmax = params.activation() == Activation::Softmax
        || (params.activation() == Activation::None && params.target() == TargetKind::Indices);
    let threshold = if params.activation() == Activation::Sigmoid {
        0.0
    } else {
        0.5
    };
    let mut counts = vec![[0usize; 3]; b * c]; // tp, fp, fn
    for img in 0..b {
        for px in 0..hw {
            if !prepared.keep[img * hw + px] {
                continue;
            }
            let at = |ch: usize| (img * c + ch) * hw + px;
            let best = (0..c).fold(
                0,
                |best, ch| if x[at(ch)] > x[at(best)] { ch } else { best },
            );
            for ch in 0..c {
                let pred = if argmax {
                    ch == best
                } else {
                    x[at(ch)] > threshold
                };
                let truth = prepared.y_host[at(ch)] >= 0.5;
                let slot = &mut counts[img * c + ch];
                match (pred, truth) {
                    (true, true) => slot[0] += 1,
                    (true, false) => slot[1] += 1,
                    (false, true) => slot[2] += 1,
                    (false, false) => {}
                }
            }
        }
    }
    let ratio = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);
    Ok(HardScores {
        images: b,
        classes: c,
        dice: counts
            .iter()
            .map(|[tp, fp, fn_]| ratio(2 * tp, 2 * tp + fp + fn_))
            .collect(),
        iou: counts
            .iter()
            .map(|[tp, fp, fn_]| ratio(*tp, tp + fp + fn_))
            .collect(),
    })
}
