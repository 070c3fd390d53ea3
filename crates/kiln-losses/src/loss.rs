//! [`SegLoss`]: every loss of the crate behind one entry point, built from
//! [`SegLossValidParams`].

use kiln_core::KilnError;
use kiln_core::burn::tensor::activation::{sigmoid, softmax};
use kiln_core::burn::tensor::{DType, Device, Tensor, TensorData};

use crate::counts::{SoftCounts, constant, host, soft_counts};
use crate::errors::{LossError, Result};
use crate::fused::{self, HostTarget, ignore_sentinel};
use crate::fused_node::{self, FlexElement};
use crate::hyperparams::{Activation, EmptyClass, GdlWeight, LossKind, Reduction};
use crate::hyperparams::{SegLossParams, SegLossValidParams, TargetKind};
use crate::target::{PreparedTarget, SegTarget, class_map, prepare};
use crate::{focal, lovasz};

/// A differentiable segmentation loss: logits `[B, C, H, W]` and a target in, a loss tensor out
/// (`[1]`, or the unreduced terms for [`Reduction::None`]), ready for `.backward()`.
///
/// ```
/// use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
/// use kiln_losses::{LossKind, SegLoss, SegLossParams, SegTarget};
///
/// let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32)?;
/// // One image, 2 classes, 1x2 pixels: confident and right.
/// let logits = convert::tensor_f32(&[5.0, -5.0, -5.0, 5.0], [1, 2, 1, 2], &dev)?.require_grad();
/// let target = SegTarget::indices(vec![0, 1], [1, 1, 2]);
/// let loss = SegLoss::new(SegLossParams::new(LossKind::Dice).check()?);
/// let value = loss.forward(logits.clone(), &target)?;
/// assert!(convert::scalar_f64(&value)? < 1e-4);
/// let grad = logits.grad(&value.backward()).unwrap();
/// assert_eq!(grad.dims(), [1, 2, 1, 2]);
/// # Ok::<(), kiln_losses::LossError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SegLoss {
    params: SegLossValidParams,
}

/// Term values `[U, K]` and which terms have an empty target (host, row-major).
pub(crate) struct Terms {
    pub(crate) values: Tensor<2>,
    pub(crate) empty: Vec<bool>,
}

impl SegLoss {
    /// The loss for checked parameters.
    pub fn new(params: SegLossValidParams) -> Self {
        Self { params }
    }

    /// Checks `params` and builds the loss.
    pub fn from_params(params: &SegLossParams) -> Result<Self> {
        Ok(Self::new(params.check()?))
    }

    /// The parameters.
    pub fn params(&self) -> &SegLossValidParams {
        &self.params
    }

    /// Checks `target` against logits of shape `dims` and builds its dense form on `logits`'
    /// device and dtype.
    pub fn prepare(&self, target: &SegTarget, logits: &Tensor<4>) -> Result<PreparedTarget> {
        prepare(
            &self.params,
            target,
            logits.dims(),
            &logits.device(),
            logits.dtype(),
        )
    }

    /// The loss of `logits` against `target` (prepares the target, then
    /// [`SegLoss::forward_prepared`]; a class-index target on the fused path is read directly,
    /// without a one-hot tensor).
    pub fn forward(&self, logits: Tensor<4>, target: &SegTarget) -> Result<Tensor<1>> {
        if self.uses_fused(&logits)
            && self.params.target() == TargetKind::Indices
            && matches!(target, SegTarget::Indices { .. })
        {
            let labels = class_map(&self.params, target, logits.dims())?;
            let ignore = ignore_sentinel(self.params.ignore_index());
            return self.forward_fused(logits, HostTarget::Labels { labels, ignore });
        }
        let prepared = self.prepare(target, &logits)?;
        self.forward_prepared(logits, &prepared)
    }

    /// The loss of `logits` against a prepared target.
    ///
    /// On the flex backend with f32 or f64 logits, Dice, Jaccard, Tversky, focal Tversky,
    /// log-Dice, Generalized Dice and Dice+CE (any reduction but [`Reduction::None`]) run fused
    /// host kernels (activation, counts, loss and its closed-form gradient in two passes over
    /// the data) and hand the gradient to autodiff as one graph node; everything else runs on
    /// Burn tensor ops ([`SegLoss::forward_composite`]). Both compute the same function.
    pub fn forward_prepared(
        &self,
        logits: Tensor<4>,
        target: &PreparedTarget,
    ) -> Result<Tensor<1>> {
        self.check_dims(&logits, target)?;
        if self.uses_fused(&logits) {
            return self.forward_fused(logits, target.host());
        }
        self.forward_tensor_ops(logits, target)
    }

    /// The loss through Burn tensor ops only (the path of every backend other than flex, and
    /// of the losses the fused kernels do not cover): the same function as
    /// [`SegLoss::forward_prepared`], for checks and benchmarks of the fused path.
    pub fn forward_composite(
        &self,
        logits: Tensor<4>,
        target: &PreparedTarget,
    ) -> Result<Tensor<1>> {
        self.check_dims(&logits, target)?;
        self.forward_tensor_ops(logits, target)
    }

    fn check_dims(&self, logits: &Tensor<4>, target: &PreparedTarget) -> Result<()> {
        if logits.dims() != target.dims {
            return Err(KilnError::shape(
                "logits",
                format!("{:?} (the prepared target's shape)", target.dims),
                format!("{:?}", logits.dims()),
            )
            .into());
        }
        Ok(())
    }

    /// Whether `logits` take the fused host path: flex device, f32 or f64, a loss and
    /// reduction the kernels compute.
    fn uses_fused(&self, logits: &Tensor<4>) -> bool {
        fused::supports(&self.params)
            && matches!(logits.dtype(), DType::F32 | DType::F64)
            && logits.device() == Device::flex()
    }

    fn forward_fused(&self, logits: Tensor<4>, target: HostTarget<'_>) -> Result<Tensor<1>> {
        match logits.dtype() {
            DType::F64 => self.forward_fused_typed::<f64>(logits, target),
            _ => self.forward_fused_typed::<f32>(logits, target),
        }
    }

    /// The fused kernels on the logits' host data. With a gradient, the loss is one node of the
    /// autodiff graph ([`fused_node`]) when the logits are a plain `Autodiff<Flex>` tensor, and
    /// otherwise goes back as `loss + sum(x * G) - detach(sum(x * G))` (value: the loss;
    /// gradient: `G`).
    fn forward_fused_typed<F: FlexElement>(
        &self,
        logits: Tensor<4>,
        target: HostTarget<'_>,
    ) -> Result<Tensor<1>> {
        let dims = logits.dims();
        let device = logits.device();
        let want_grad = logits.is_tracked();
        if want_grad
            && let Some(node) = fused_node::with_fused_node::<F>(&logits, |x, grad| {
                fused::loss_and_grad(&self.params, dims, Some(x), grad, target, true)
            })
        {
            return node;
        }
        // The kernels work in place on a host copy of the logits, which then becomes `G`.
        // The copy is made by a scalar op (one pass into a buffer the copy owns): flex's
        // `into_data` of a shared tensor copies twice (a copy, then a re-aligned copy), and
        // the logits stay shared while they are in the graph. Without a gradient, a logits
        // tensor the caller handed over is used in place.
        let (mut data, logits) = if want_grad {
            let copy = logits.clone().detach().mul_scalar(1.0);
            (copy.into_data(), Some(logits))
        } else {
            (logits.detach().mul_scalar(1.0).into_data(), None)
        };
        let x = data.as_mut_slice::<F>().map_err(|e| KilnError::Numerical {
            context: "logits readback".into(),
            message: format!("{e:?}"),
        })?;
        let loss = fused::loss_and_grad(&self.params, dims, None, x, target, want_grad)?;
        let value = Tensor::<1>::from_data(
            TensorData::new(vec![F::from_f64(loss)], [1]),
            (&device, F::DTYPE),
        );
        let Some(logits) = logits else {
            return Ok(value);
        };
        // Not a plain `Autodiff<Flex>` graph (e.g. strided logits, gradient checkpointing):
        // the generic surrogate, whose `x * G` and backward run in buffers of their own.
        let g = Tensor::<4>::from_data(data, (&device, F::DTYPE));
        let surrogate = (logits * g).sum();
        Ok(surrogate.clone() - surrogate.detach() + value)
    }

    fn forward_tensor_ops(&self, logits: Tensor<4>, target: &PreparedTarget) -> Result<Tensor<1>> {
        check_finite(&logits)?;
        let p = self.params();
        match p.kind() {
            LossKind::LovaszHinge => lovasz::hinge(self, logits, target),
            LossKind::Focal { gamma } => focal::focal(p, logits, target, gamma),
            LossKind::DiceCe {
                lambda_dice,
                lambda_ce,
            } => self.combined(logits, target, lambda_dice, lambda_ce, 0.0),
            LossKind::DiceFocal {
                lambda_dice,
                lambda_focal,
                gamma,
            } => self.combined(logits, target, lambda_dice, lambda_focal, gamma),
            _ => {
                let probs = self.probabilities(logits)?;
                self.loss_of_probabilities(probs, target)
            }
        }
    }

    fn combined(
        &self,
        logits: Tensor<4>,
        target: &PreparedTarget,
        lambda_dice: f64,
        lambda_other: f64,
        gamma: f64,
    ) -> Result<Tensor<1>> {
        if self.params.reduction() == Reduction::None {
            return Err(LossError::Unsupported {
                loss: self.params.kind().name(),
                message: "a sum of two losses needs a reduction (per-image, batch or global)"
                    .into(),
            });
        }
        let dice = SegLoss::new(self.params.with_kind(LossKind::Dice));
        let probs = dice.probabilities(logits.clone())?;
        let d = dice.loss_of_probabilities(probs, target)?;
        let f = focal::focal(&self.params, logits, target, gamma)?;
        Ok(d.clone() * constant(&d, lambda_dice) + f.clone() * constant(&f, lambda_other))
    }

    /// Activation, then `[B, C', H, W]` with the background dropped if asked, ignored pixels
    /// zeroed.
    pub(crate) fn probabilities(&self, logits: Tensor<4>) -> Result<Tensor<4>> {
        let probs = match self.params.activation() {
            Activation::Softmax => softmax(logits, 1),
            Activation::Sigmoid => sigmoid(logits),
            Activation::None => {
                check_probabilities(&logits)?;
                logits
            }
        };
        Ok(probs)
    }

    /// Drops channel 0 when the background is excluded.
    pub(crate) fn keep_classes(&self, x: Tensor<4>) -> Result<Tensor<4>> {
        if self.params.include_background() {
            return Ok(x);
        }
        let c = x.dims()[1];
        if c < 2 {
            return Err(LossError::Unsupported {
                loss: self.params.kind().name(),
                message: "include_background = false needs at least 2 channels".into(),
            });
        }
        Ok(x.narrow(1, 1, c - 1))
    }

    fn loss_of_probabilities(
        &self,
        probs: Tensor<4>,
        target: &PreparedTarget,
    ) -> Result<Tensor<1>> {
        let probs = match &target.mask {
            Some(m) => probs * m.clone(),
            None => probs,
        };
        let probs = self.keep_classes(probs)?;
        let y = self.keep_classes(target.y.clone())?;
        let sums = self.kept_sums(target)?;
        match self.params.kind() {
            LossKind::GeneralizedDice { weight } => self.generalized_dice(probs, y, &sums, weight),
            LossKind::LovaszSoftmax => {
                let terms = lovasz::softmax_terms(self, probs, y, target, &sums)?;
                self.reduce(terms)
            }
            _ => {
                let counts = soft_counts(probs, y, self.params.squared());
                let terms = self.overlap_terms(counts, &sums)?;
                self.reduce(terms)
            }
        }
    }

    /// `|y|_1` per (image, kept class), `[B, K]` row-major, with the class weights checked.
    pub(crate) fn kept_sums(&self, target: &PreparedTarget) -> Result<(Vec<f64>, usize)> {
        let [b, c, _, _] = target.dims;
        let all = target.class_sums();
        let skip = usize::from(!self.params.include_background());
        let k = c.saturating_sub(skip);
        if let Some(w) = self.params.class_weights()
            && w.len() != k
        {
            return Err(KilnError::shape(
                "class_weights",
                format!("{k} weights (one per class kept)"),
                format!("{} weights", w.len()),
            )
            .into());
        }
        let kept = (0..b)
            .flat_map(|i| all[i * c + skip..(i + 1) * c].to_vec())
            .collect();
        Ok((kept, k))
    }

    /// Pools host sums `[B, K]` like the counts: per image, over the batch, or over everything.
    pub(crate) fn pool_sums(&self, sums: &(Vec<f64>, usize)) -> Vec<f64> {
        let (values, k) = sums;
        let k = *k;
        match self.params.reduction() {
            Reduction::PerImage | Reduction::None => values.clone(),
            Reduction::Batch => (0..k)
                .map(|c| values.iter().skip(c).step_by(k).sum())
                .collect(),
            Reduction::Global => vec![values.iter().sum()],
        }
    }

    fn pool_counts(&self, counts: SoftCounts) -> SoftCounts {
        match self.params.reduction() {
            Reduction::PerImage | Reduction::None => counts,
            Reduction::Batch => counts.pool_batch(),
            Reduction::Global => counts.pool_all(),
        }
    }

    fn overlap_terms(&self, counts: SoftCounts, sums: &(Vec<f64>, usize)) -> Result<Terms> {
        let counts = self.pool_counts(counts);
        let empty: Vec<bool> = self.pool_sums(sums).iter().map(|&s| s == 0.0).collect();
        let SoftCounts {
            tp,
            fp,
            fn_,
            pred,
            truth,
        } = counts;
        let nr = constant(&tp, self.params.smooth_nr());
        let dr = constant(&tp, self.params.smooth_dr());
        let (num, den) = match self.params.kind() {
            LossKind::Dice | LossKind::LogDice => (tp.mul_scalar(2.0) + nr, pred + truth + dr),
            LossKind::Jaccard => (
                tp.clone().mul_scalar(2.0) + nr,
                (pred + truth - tp).mul_scalar(2.0) + dr,
            ),
            LossKind::Tversky { alpha, beta } | LossKind::FocalTversky { alpha, beta, .. } => {
                let a = constant(&tp, alpha);
                let b = constant(&tp, beta);
                (tp.clone() + nr, tp + fp * a + fn_ * b + dr)
            }
            other => {
                return Err(KilnError::invalid(
                    "loss",
                    other.name(),
                    "not an overlap ratio (internal dispatch error)",
                )
                .into());
            }
        };
        let (num, den) = self.replace_empty(num, den, &empty);
        let score = num / den;
        let one = constant(&score, 1.0);
        let values = match self.params.kind() {
            LossKind::LogDice => score.log().neg(),
            LossKind::FocalTversky { gamma, .. } => {
                // Floor keeps the derivative of x^gamma finite at x = 0 when gamma < 1 (the
                // floor's own gradient there is zero).
                let base = (one - score).clamp_min(1e-30);
                let g = constant(&base, gamma);
                base.powf(g)
            }
            _ => one - score,
        };
        Ok(Terms { values, empty })
    }

    /// Under count-as-one and skip, an empty term's ratio is replaced by the constant 1/1 (no
    /// gradient, no 0/0 even without smoothing).
    fn replace_empty(
        &self,
        num: Tensor<2>,
        den: Tensor<2>,
        empty: &[bool],
    ) -> (Tensor<2>, Tensor<2>) {
        if self.params.empty() == EmptyClass::Smoothed || !empty.iter().any(|e| *e) {
            return (num, den);
        }
        let shape = num.dims();
        let e: Vec<f64> = empty.iter().map(|&e| f64::from(u8::from(e))).collect();
        let keep: Vec<f64> = e.iter().map(|v| 1.0 - v).collect();
        let e = host(&num, e, shape);
        let keep = host(&num, keep, shape);
        (num * keep.clone() + e.clone(), den * keep + e)
    }

    /// Averages terms `[U, K]` into `[1]` (or flattens them for [`Reduction::None`]).
    pub(crate) fn reduce(&self, terms: Terms) -> Result<Tensor<1>> {
        let Terms { values, empty } = terms;
        let [u, k] = values.dims();
        if self.params.reduction() == Reduction::None {
            return Ok(values.reshape([u * k]));
        }
        let coef = term_coefficients(&self.params, &empty, u, k);
        let coef = host(&values, coef, [u, k]);
        Ok((values * coef).sum())
    }

    fn generalized_dice(
        &self,
        probs: Tensor<4>,
        y: Tensor<4>,
        sums: &(Vec<f64>, usize),
        weight: GdlWeight,
    ) -> Result<Tensor<1>> {
        let counts = soft_counts(probs, y, self.params.squared());
        let (counts, pooled) = match self.params.reduction() {
            Reduction::PerImage | Reduction::None => (counts, sums.0.clone()),
            Reduction::Batch | Reduction::Global => {
                let k = sums.1;
                let pooled: Vec<f64> = (0..k)
                    .map(|c| sums.0.iter().skip(c).step_by(k).sum())
                    .collect();
                (counts.pool_batch(), pooled)
            }
        };
        let [u, k] = counts.tp.dims();
        let w = gdl_weights(&pooled, k, weight);
        let w = host(&counts.tp, w, [u, k]);
        let nr = constant(&counts.tp, self.params.smooth_nr());
        let dr = constant(&counts.tp, self.params.smooth_dr());
        let num = (counts.tp * w.clone()).sum_dim(1).mul_scalar(2.0) + nr;
        let den = ((counts.pred + counts.truth) * w).sum_dim(1) + dr;
        let score = num / den;
        let per_unit = constant(&score, 1.0) - score;
        Ok(match self.params.reduction() {
            Reduction::None => per_unit.reshape([u]),
            _ => per_unit.mean(),
        })
    }
}

/// Weight of each term `[U, K]` (row-major) in the reduced loss: the class weight over
/// `U` times the number of terms kept in its row (terms of empty targets are dropped under
/// [`EmptyClass::Skip`]; a row with none left contributes nothing).
pub(crate) fn term_coefficients(
    params: &SegLossValidParams,
    empty: &[bool],
    u: usize,
    k: usize,
) -> Vec<f64> {
    let policy = params.empty();
    let weights = match (params.class_weights(), params.reduction()) {
        (Some(w), r) if r != Reduction::Global => w.to_vec(),
        _ => vec![1.0; k],
    };
    let mut coef = vec![0.0; u * k];
    for unit in 0..u {
        let row = unit * k..(unit + 1) * k;
        let active: Vec<bool> = empty[row]
            .iter()
            .map(|&e| !(e && policy == EmptyClass::Skip))
            .collect();
        let n = active.iter().filter(|a| **a).count();
        if n == 0 {
            continue;
        }
        for (c, a) in active.iter().enumerate() {
            if *a {
                coef[unit * k + c] = weights.get(c).copied().unwrap_or(1.0) / (n as f64 * u as f64);
            }
        }
    }
    coef
}

/// Generalized Dice weights per unit (`[U, K]` row-major): `1/|y|^2`, `1/|y|` or 1; an
/// infinite weight (empty class) becomes the unit's largest finite weight (0 if none), as in
/// MONAI.
pub(crate) fn gdl_weights(sums: &[f64], k: usize, weight: GdlWeight) -> Vec<f64> {
    let raw: Vec<f64> = sums
        .iter()
        .map(|&s| match weight {
            GdlWeight::Square => 1.0 / (s * s),
            GdlWeight::Simple => 1.0 / s,
            GdlWeight::Uniform => 1.0,
        })
        .collect();
    raw.chunks(k)
        .flat_map(|row| {
            let max = row
                .iter()
                .filter(|w| w.is_finite())
                .fold(0.0f64, |m, &w| m.max(w));
            row.iter()
                .map(move |&w| if w.is_finite() { w } else { max })
                .collect::<Vec<_>>()
        })
        .collect()
}

pub(crate) fn check_finite(logits: &Tensor<4>) -> Result<()> {
    // Fast path: a finite sum means every value is finite (one reduction, no mask). A
    // non-finite sum is either a NaN/inf input or an overflow of huge finite values: the host
    // scan tells them apart.
    let sum = kiln_core::convert::to_vec_f64(&logits.clone().detach().sum())?;
    if sum.first().is_some_and(|s| s.is_finite()) {
        return Ok(());
    }
    let values = kiln_core::convert::to_vec_f64(logits)?;
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(KilnError::NonFinite {
            context: "predictions".into(),
            index: Some(index),
        }
        .into()),
        None => Ok(()),
    }
}

fn check_probabilities(probs: &Tensor<4>) -> Result<()> {
    let values = kiln_core::convert::to_vec_f64(probs)?;
    match values.iter().position(|v| !(0.0..=1.0).contains(v)) {
        Some(index) => Err(LossError::ProbabilityOutOfRange {
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_core::{Autodiff, BackendKind, Precision, convert, device};

    #[test]
    fn the_fused_path_is_taken_exactly_where_it_applies() {
        let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
        let x32 = convert::tensor_f32(&[0.0; 8], [1, 2, 2, 2], &dev).unwrap();
        let x64 = convert::tensor_f64(&[0.0; 8], [1, 2, 2, 2], &dev).unwrap();
        let plain = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
        let x_plain = convert::tensor_f32(&[0.0; 8], [1, 2, 2, 2], &plain).unwrap();
        let loss = |p: SegLossParams| SegLoss::new(p.check().unwrap());
        for kind in [
            LossKind::Dice,
            LossKind::Jaccard,
            LossKind::Tversky {
                alpha: 0.3,
                beta: 0.7,
            },
            LossKind::FocalTversky {
                alpha: 0.3,
                beta: 0.7,
                gamma: 2.0,
            },
            LossKind::LogDice,
            LossKind::GeneralizedDice {
                weight: GdlWeight::Square,
            },
            LossKind::DiceCe {
                lambda_dice: 1.0,
                lambda_ce: 1.0,
            },
        ] {
            let l = loss(SegLossParams::new(kind).reduction(Reduction::Batch));
            assert!(l.uses_fused(&x32) && l.uses_fused(&x64) && l.uses_fused(&x_plain));
            assert!(!loss(SegLossParams::new(kind).reduction(Reduction::None)).uses_fused(&x32));
        }
        // Generalized Dice weights follow |y|_1, which the squared kernels sum only for 0/1
        // labels.
        let gdl = SegLossParams::new(LossKind::GeneralizedDice {
            weight: GdlWeight::Simple,
        })
        .squared(true);
        assert!(loss(gdl.clone().target(TargetKind::OneHot)).uses_fused(&x32));
        assert!(!loss(gdl.target(TargetKind::Soft)).uses_fused(&x32));
        for kind in [
            LossKind::LovaszSoftmax,
            LossKind::LovaszHinge,
            LossKind::Focal { gamma: 2.0 },
        ] {
            assert!(!loss(SegLossParams::new(kind)).uses_fused(&x32));
        }
        // Dice+CE with sigmoid (binary cross-entropy) is fused too.
        let sigmoid_ce = SegLossParams::new(LossKind::DiceCe {
            lambda_dice: 1.0,
            lambda_ce: 1.0,
        })
        .activation(Activation::Sigmoid);
        assert!(loss(sigmoid_ce).uses_fused(&x32));
    }
}
