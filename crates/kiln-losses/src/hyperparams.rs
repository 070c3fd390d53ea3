//! Parameters, validated once (linfa style): [`SegLossParams`] (unchecked, builder setters) ->
//! [`SegLossParams::check`] -> [`SegLossValidParams`], from which [`crate::SegLoss`] is built.
//!
//! Every loss of the crate shares one option set. The anchors hard-code different choices
//! (MONAI: smoothing decides empty classes, per-image terms; smp: no smoothing, batch-pooled
//! terms, absent classes zeroed); here each choice is a named option, and the defaults are
//! MONAI `DiceLoss`'s.

use kiln_core::KilnError;
use serde::{Deserialize, Serialize};

use crate::errors::{LossError, Result};

/// Which loss [`crate::SegLoss`] computes. `tp`, `fp`, `fn` are the soft counts of
/// [`crate::SoftCounts`] per term (an (image, class) pair, a class pooled over the batch, or
/// everything, see [`Reduction`]); `nr`, `dr` the smoothing constants.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Soft Dice (Milletari et al. 2016, V-Net): `1 - (2tp + nr) / (2tp + fp + fn + dr)`.
    /// MONAI `DiceLoss` (the default of this crate), smp `DiceLoss`.
    Dice,
    /// Soft Jaccard / IoU (Rahman & Wang 2016): `1 - (2tp + nr) / (2(tp + fp + fn) + dr)`,
    /// written as MONAI `DiceLoss(jaccard=True)` writes it, so the same smoothing constants give
    /// the same number (`= 1 - (tp + nr/2) / (tp + fp + fn + dr/2)`). smp `JaccardLoss`.
    Jaccard,
    /// Tversky index (Salehi et al. 2017): `1 - (tp + nr) / (tp + alpha fp + beta fn + dr)`.
    /// `alpha` weighs false positives, `beta` false negatives (MONAI `TverskyLoss` and smp
    /// `TverskyLoss` conventions). `alpha = beta = 0.5` is Dice, `1, 1` Jaccard (up to smoothing).
    Tversky {
        /// Weight of false positives (MONAI default 0.5).
        alpha: f64,
        /// Weight of false negatives (MONAI default 0.5).
        beta: f64,
    },
    /// Focal Tversky (Abraham & Khan 2019): `(1 - TI)^gamma` per term, TI the Tversky index.
    /// The paper's `1/gamma = 0.75` (`gamma` here 0.75) focuses on hard terms; `gamma = 1` is
    /// Tversky. (smp's `TverskyLoss(gamma)` raises the *mean* to the power instead.)
    FocalTversky {
        /// Weight of false positives.
        alpha: f64,
        /// Weight of false negatives.
        beta: f64,
        /// Exponent (> 0).
        gamma: f64,
    },
    /// Log-Dice (Wong et al. 2018, exponential logarithmic loss with gamma 1): `-ln(Dice score)`
    /// per term. Needs `smooth_nr > 0` so the score cannot be 0.
    LogDice,
    /// Generalized Dice (Sudre et al. 2017): per unit (image, or batch when pooled)
    /// `1 - (2 sum_c w_c tp_c + nr) / (sum_c w_c (|p_c| + |y_c|) + dr)` with inverse-volume
    /// weights `w_c` (see [`GdlWeight`]); an infinite weight (empty class) is replaced by the
    /// largest finite weight of its unit, as in MONAI `GeneralizedDiceLoss`. The empty-class
    /// policy does not apply (the weights handle empty classes).
    GeneralizedDice {
        /// How class weights follow class volume.
        weight: GdlWeight,
    },
    /// Lovász-softmax (Berman et al. 2018), the convex surrogate of IoU: per term, the
    /// errors `|y - p|` sorted in decreasing order dotted with the gradient of the Jaccard loss
    /// of the sorted ground truth. smp `LovaszLoss('multiclass')`; [`EmptyClass::Skip`] is
    /// smp's `classes='present'`.
    LovaszSoftmax,
    /// Lovász-hinge (Berman et al. 2018) on raw logits, each channel a binary problem: errors
    /// `1 - x (2y - 1)` sorted decreasingly, `relu`'d, dotted with the Jaccard gradient. smp
    /// `LovaszLoss('binary')`. Ignores the activation.
    LovaszHinge,
    /// Focal loss (Lin et al. 2017): per pixel `-sum_c y_c (1 - p_c)^gamma ln p_c` (softmax) or
    /// the binary form per channel (sigmoid), mean over pixels. `gamma = 0` is cross-entropy.
    Focal {
        /// Focusing exponent (>= 0; the paper's 2).
        gamma: f64,
    },
    /// Dice + cross-entropy (MONAI `DiceCELoss`): `lambda_dice * Dice + lambda_ce * CE`, CE over
    /// all channels (background included), the Dice part with every shared option. With
    /// sigmoid the CE is the binary cross-entropy per channel (mean over pixels and channels);
    /// MONAI's `DiceCELoss(sigmoid=True)` takes the softmax cross-entropy whenever there is
    /// more than one channel.
    DiceCe {
        /// Weight of the Dice term (MONAI 1).
        lambda_dice: f64,
        /// Weight of the cross-entropy term (MONAI 1).
        lambda_ce: f64,
    },
    /// Dice + focal (MONAI `DiceFocalLoss`): `lambda_dice * Dice + lambda_focal * Focal(gamma)`.
    DiceFocal {
        /// Weight of the Dice term.
        lambda_dice: f64,
        /// Weight of the focal term.
        lambda_focal: f64,
        /// Focusing exponent of the focal term.
        gamma: f64,
    },
}

impl LossKind {
    /// Short name (as on the command line).
    pub fn name(&self) -> &'static str {
        match self {
            LossKind::Dice => "dice",
            LossKind::Jaccard => "jaccard",
            LossKind::Tversky { .. } => "tversky",
            LossKind::FocalTversky { .. } => "focal-tversky",
            LossKind::LogDice => "log-dice",
            LossKind::GeneralizedDice { .. } => "generalized-dice",
            LossKind::LovaszSoftmax => "lovasz",
            LossKind::LovaszHinge => "lovasz-hinge",
            LossKind::Focal { .. } => "focal",
            LossKind::DiceCe { .. } => "dice-ce",
            LossKind::DiceFocal { .. } => "dice-focal",
        }
    }
}

/// Generalized Dice class weights from the target volume `|y_c|` of the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GdlWeight {
    /// `1 / |y_c|^2` (Sudre et al.; MONAI default `w_type="square"`).
    #[default]
    Square,
    /// `1 / |y_c|`.
    Simple,
    /// `1` (plain pooled Dice over classes).
    Uniform,
}

/// Applied to the logits before the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Softmax over the channel axis (mutually exclusive classes). MONAI `softmax=True`; the
    /// default here.
    #[default]
    Softmax,
    /// Sigmoid per channel (multi-label or binary). MONAI `sigmoid=True`.
    Sigmoid,
    /// The input already holds probabilities in `[0, 1]` (checked).
    None,
}

/// What the target holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// A class-index map `[B, H, W]` (MONAI `to_onehot_y=True`); labels in `0..C`, or the
    /// ignore index. The default.
    #[default]
    Indices,
    /// One-hot / multi-label `[B, C, H, W]` with values exactly 0 or 1.
    OneHot,
    /// Soft labels `[B, C, H, W]` with values in `[0, 1]` (label smoothing, partial volumes,
    /// averaged annotators). The soft counts stay correct for them.
    Soft,
}

impl TargetKind {
    /// Name used in messages and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Indices => "indices",
            TargetKind::OneHot => "one-hot",
            TargetKind::Soft => "soft",
        }
    }
}

/// Which counts make one loss term, and how terms are averaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// One term per (image, class); the loss is the mean over images of the mean over the
    /// image's classes (= MONAI's mean over (B, C) when no term is skipped). MONAI default
    /// (`batch=False`), smp Lovász `per_image=True`.
    #[default]
    PerImage,
    /// Counts summed over the batch first, one term per class, mean over classes. MONAI
    /// `batch=True`, smp Dice/Jaccard/Tversky (`dims=(0, 2)`).
    Batch,
    /// Counts summed over the batch and the classes: one term (micro average).
    Global,
    /// No reduction: the per-(image, class) terms, `[B, C']` flattened row-major.
    None,
}

/// What a term whose target is empty (no foreground in its unit) contributes.
///
/// Users trip on this (MONAI #807, smp #927) because each anchor hard-codes one behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmptyClass {
    /// The formula with its smoothing decides (MONAI): with `smooth_nr = smooth_dr = 1e-5` an
    /// empty target scores ~1 if the prediction is empty too and ~0 otherwise; with
    /// `smooth_nr = 0` the term is exactly 1 with zero gradient. Needs `smooth_dr > 0`. Default.
    #[default]
    Smoothed,
    /// The term counts as a perfect score (loss 0) with no gradient, and still counts in the
    /// mean (smp: absent classes are zeroed).
    CountAsOne,
    /// The term is left out of the mean (smp Lovász `classes='present'`). A unit with every
    /// term skipped contributes 0.
    Skip,
}

/// Unchecked options of every loss in the crate. Defaults ([`SegLossParams::new`]): MONAI
/// `DiceLoss(softmax=True, to_onehot_y=True)` — [`LossKind::Dice`], [`Activation::Softmax`],
/// [`TargetKind::Indices`], background included, no ignore index, no class weights, plain
/// (not squared) denominators, `smooth_nr = smooth_dr = 1e-5`, [`Reduction::PerImage`],
/// [`EmptyClass::Smoothed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegLossParams {
    kind: LossKind,
    activation: Activation,
    target: TargetKind,
    include_background: bool,
    ignore_index: Option<i64>,
    class_weights: Option<Vec<f64>>,
    squared: bool,
    smooth_nr: f64,
    smooth_dr: f64,
    reduction: Reduction,
    empty: EmptyClass,
}

impl Default for SegLossParams {
    fn default() -> Self {
        Self::new(LossKind::Dice)
    }
}

impl SegLossParams {
    /// MONAI `DiceLoss` defaults (see the type's rustdoc) with the given loss.
    pub fn new(kind: LossKind) -> Self {
        Self {
            kind,
            activation: Activation::Softmax,
            target: TargetKind::Indices,
            include_background: true,
            ignore_index: None,
            class_weights: None,
            squared: false,
            smooth_nr: 1e-5,
            smooth_dr: 1e-5,
            reduction: Reduction::PerImage,
            empty: EmptyClass::Smoothed,
        }
    }
    /// The loss.
    pub fn kind(mut self, kind: LossKind) -> Self {
        self.kind = kind;
        self
    }
    /// Activation applied to the logits.
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }
    /// What the target holds.
    pub fn target(mut self, target: TargetKind) -> Self {
        self.target = target;
        self
    }
    /// Whether channel 0 (background) makes loss terms; dropped *after* the activation, as in
    /// MONAI (cross-entropy parts always use every channel).
    pub fn include_background(mut self, include: bool) -> Self {
        self.include_background = include;
        self
    }
    /// A label of class-index targets whose pixels are left out of every count (smp, PyTorch
    /// `ignore_index`).
    pub fn ignore_index(mut self, index: i64) -> Self {
        self.ignore_index = Some(index);
        self
    }
    /// Per-class weights (length = classes kept after `include_background`), multiplying each
    /// term before the mean (MONAI `weight`): not renormalized. Used by the overlap losses,
    /// Lovász and the Dice part of Dice+CE / Dice+focal; refused for focal and Generalized Dice.
    pub fn class_weights(mut self, weights: Vec<f64>) -> Self {
        self.class_weights = Some(weights);
        self
    }
    /// Squared denominators `|p|_2^2 + |y|_2^2` (V-Net, MONAI `squared_pred=True`); the counts
    /// become `tp = <p, y>`, `fp = |p|^2 - tp`, `fn = |y|^2 - tp`.
    pub fn squared(mut self, squared: bool) -> Self {
        self.squared = squared;
        self
    }
    /// Numerator smoothing `nr` (MONAI `smooth_nr`, default 1e-5; smp `smooth`, default 0).
    pub fn smooth_nr(mut self, v: f64) -> Self {
        self.smooth_nr = v;
        self
    }
    /// Denominator smoothing `dr` (MONAI `smooth_dr`, default 1e-5).
    pub fn smooth_dr(mut self, v: f64) -> Self {
        self.smooth_dr = v;
        self
    }
    /// How terms are formed and averaged.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
    /// What an empty-target term contributes.
    pub fn empty(mut self, empty: EmptyClass) -> Self {
        self.empty = empty;
        self
    }

    /// Validates every rule once and returns the valid parameters.
    pub fn check(&self) -> Result<SegLossValidParams> {
        for (name, value) in [("smooth_nr", self.smooth_nr), ("smooth_dr", self.smooth_dr)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(LossError::NegativeSmoothing { name, value });
            }
        }
        if let Some(w) = &self.class_weights {
            if let Some((index, &value)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(LossError::NegativeWeight { index, value });
            }
            if w.is_empty() {
                return Err(KilnError::invalid("class_weights", "[]", "must not be empty").into());
            }
        }
        self.check_kind()?;
        let uses_empty_policy = !matches!(
            self.kind,
            LossKind::GeneralizedDice { .. } | LossKind::Focal { .. }
        );
        if uses_empty_policy && self.empty == EmptyClass::Smoothed && self.smooth_dr == 0.0 {
            return Err(LossError::Unsupported {
                loss: self.kind.name(),
                message: "empty-class policy `smoothed` needs smooth_dr > 0 (an empty target \
                          with an empty prediction would be 0/0); set smooth_dr or choose \
                          count-as-one / skip"
                    .into(),
            });
        }
        if self.ignore_index.is_some() && self.target != TargetKind::Indices {
            return Err(LossError::Unsupported {
                loss: self.kind.name(),
                message: "ignore_index needs a class-index target".into(),
            });
        }
        Ok(SegLossValidParams {
            kind: self.kind,
            activation: self.activation,
            target: self.target,
            include_background: self.include_background,
            ignore_index: self.ignore_index,
            class_weights: self.class_weights.clone(),
            squared: self.squared,
            smooth_nr: self.smooth_nr,
            smooth_dr: self.smooth_dr,
            reduction: self.reduction,
            empty: self.empty,
        })
    }

    fn check_kind(&self) -> Result<()> {
        let positive = |name: &'static str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(KilnError::invalid(name, v, "must be finite and > 0").into())
            }
        };
        let nonneg = |name: &'static str, v: f64| -> Result<()> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(KilnError::invalid(name, v, "must be finite and >= 0").into())
            }
        };
        let unsupported = |message: &str| LossError::Unsupported {
            loss: self.kind.name(),
            message: message.into(),
        };
        match self.kind {
            LossKind::Tversky { alpha, beta } => {
                nonneg("alpha", alpha)?;
                nonneg("beta", beta)?;
            }
            LossKind::FocalTversky { alpha, beta, gamma } => {
                nonneg("alpha", alpha)?;
                nonneg("beta", beta)?;
                positive("gamma", gamma)?;
            }
            LossKind::LogDice if self.smooth_nr <= 0.0 => {
                return Err(unsupported(
                    "needs smooth_nr > 0 (a zero Dice score has an infinite logarithm)",
                ));
            }
            LossKind::Focal { gamma } => nonneg("gamma", gamma)?,
            LossKind::DiceCe {
                lambda_dice,
                lambda_ce,
            } => {
                nonneg("lambda_dice", lambda_dice)?;
                nonneg("lambda_ce", lambda_ce)?;
            }
            LossKind::DiceFocal {
                lambda_dice,
                lambda_focal,
                gamma,
            } => {
                nonneg("lambda_dice", lambda_dice)?;
                nonneg("lambda_focal", lambda_focal)?;
                nonneg("gamma", gamma)?;
            }
            _ => {}
        }
        let needs_logits = matches!(
            self.kind,
            LossKind::Focal { .. } | LossKind::DiceCe { .. } | LossKind::DiceFocal { .. }
        );
        if needs_logits && self.activation == Activation::None {
            return Err(unsupported(
                "cross-entropy and focal terms need logits: use activation softmax or sigmoid",
            ));
        }
        let lovasz = matches!(self.kind, LossKind::LovaszSoftmax | LossKind::LovaszHinge);
        if lovasz && self.reduction == Reduction::Global {
            return Err(unsupported(
                "Lovász losses are per class: use reduction per-image, batch or none",
            ));
        }
        if self.class_weights.is_some() && self.reduction == Reduction::Global {
            return Err(unsupported(
                "class weights need per-class terms: use reduction per-image, batch or none",
            ));
        }
        if self.class_weights.is_some() && matches!(self.kind, LossKind::Focal { .. }) {
            return Err(unsupported(
                "class weights apply to overlap and Lovász terms (and the Dice part of Dice+CE \
                 and Dice+focal), not to the focal loss",
            ));
        }
        if self.class_weights.is_some() && matches!(self.kind, LossKind::GeneralizedDice { .. }) {
            return Err(unsupported(
                "generalized Dice sets its own class weights from the target volumes",
            ));
        }
        if lovasz && self.squared {
            return Err(unsupported("squared denominators do not apply to Lovász"));
        }
        Ok(())
    }
}

/// Checked options (only [`SegLossParams::check`] makes them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegLossValidParams {
    kind: LossKind,
    activation: Activation,
    target: TargetKind,
    include_background: bool,
    ignore_index: Option<i64>,
    class_weights: Option<Vec<f64>>,
    squared: bool,
    smooth_nr: f64,
    smooth_dr: f64,
    reduction: Reduction,
    empty: EmptyClass,
}

impl SegLossValidParams {
    /// The loss.
    pub fn kind(&self) -> LossKind {
        self.kind
    }
    /// Activation applied to the logits.
    pub fn activation(&self) -> Activation {
        self.activation
    }
    /// What the target holds.
    pub fn target(&self) -> TargetKind {
        self.target
    }
    /// Whether channel 0 makes loss terms.
    pub fn include_background(&self) -> bool {
        self.include_background
    }
    /// The ignored label, if any.
    pub fn ignore_index(&self) -> Option<i64> {
        self.ignore_index
    }
    /// Per-class weights, if any.
    pub fn class_weights(&self) -> Option<&[f64]> {
        self.class_weights.as_deref()
    }
    /// Whether denominators are squared.
    pub fn squared(&self) -> bool {
        self.squared
    }
    /// Numerator smoothing.
    pub fn smooth_nr(&self) -> f64 {
        self.smooth_nr
    }
    /// Denominator smoothing.
    pub fn smooth_dr(&self) -> f64 {
        self.smooth_dr
    }
    /// Reduction.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }
    /// Empty-class policy.
    pub fn empty(&self) -> EmptyClass {
        self.empty
    }
    /// The same parameters with another loss kind (the Dice part of the combined losses, whose
    /// rules are a subset of theirs).
    pub(crate) fn with_kind(&self, kind: LossKind) -> Self {
        Self {
            kind,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_monai_dice_loss() {
        let p = SegLossParams::default().check().unwrap();
        assert_eq!(p.kind(), LossKind::Dice);
        assert_eq!(p.activation(), Activation::Softmax);
        assert!(p.include_background());
        assert_eq!((p.smooth_nr(), p.smooth_dr()), (1e-5, 1e-5));
        assert_eq!(p.reduction(), Reduction::PerImage);
        assert_eq!(p.empty(), EmptyClass::Smoothed);
    }

    #[test]
    fn each_rule_has_its_error() {
        let e = SegLossParams::default()
            .smooth_nr(-1.0)
            .check()
            .unwrap_err();
        assert!(matches!(
            e,
            LossError::NegativeSmoothing {
                name: "smooth_nr",
                ..
            }
        ));
        let e = SegLossParams::default()
            .smooth_dr(f64::NAN)
            .check()
            .unwrap_err();
        assert!(matches!(
            e,
            LossError::NegativeSmoothing {
                name: "smooth_dr",
                ..
            }
        ));
        let e = SegLossParams::default()
            .class_weights(vec![1.0, -0.5])
            .check()
            .unwrap_err();
        assert!(matches!(e, LossError::NegativeWeight { index: 1, .. }));
        let e = SegLossParams::default().smooth_dr(0.0).check().unwrap_err();
        assert!(matches!(e, LossError::Unsupported { .. }));
        assert!(
            SegLossParams::default()
                .smooth_dr(0.0)
                .empty(EmptyClass::CountAsOne)
                .check()
                .is_ok()
        );
        let e = SegLossParams::new(LossKind::Tversky {
            alpha: -0.1,
            beta: 0.5,
        })
        .check()
        .unwrap_err();
        assert!(matches!(
            e,
            LossError::Core(KilnError::InvalidParameter { .. })
        ));
        let e = SegLossParams::new(LossKind::Focal { gamma: 2.0 })
            .activation(Activation::None)
            .check()
            .unwrap_err();
        assert!(matches!(e, LossError::Unsupported { .. }));
        let e = SegLossParams::new(LossKind::LogDice)
            .smooth_nr(0.0)
            .check()
            .unwrap_err();
        assert!(matches!(e, LossError::Unsupported { .. }));
        let e = SegLossParams::default()
            .target(TargetKind::Soft)
            .ignore_index(255)
            .check()
            .unwrap_err();
        assert!(matches!(e, LossError::Unsupported { .. }));
        let e = SegLossParams::new(LossKind::LovaszSoftmax)
            .reduction(Reduction::Global)
            .check()
            .unwrap_err();
        assert!(matches!(e, LossError::Unsupported { .. }));
    }
}

macro_rules! from_str {
    ($ty:ty, $name:literal, $($text:literal => $value:expr),+ $(,)?) => {
        impl std::str::FromStr for $ty {
            type Err = KilnError;
            fn from_str(s: &str) -> std::result::Result<Self, KilnError> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($value),)+
                    _ => Err(KilnError::invalid(
                        $name,
                        s,
                        concat!("expected one of:", $(" ", $text),+),
                    )),
                }
            }
        }
    };
}

from_str!(Activation, "activation",
    "softmax" => Activation::Softmax, "sigmoid" => Activation::Sigmoid, "none" => Activation::None);
from_str!(Reduction, "reduction",
    "per-image" => Reduction::PerImage, "batch" => Reduction::Batch,
    "global" => Reduction::Global, "none" => Reduction::None);
from_str!(EmptyClass, "empty",
    "smoothed" => EmptyClass::Smoothed, "count-as-one" => EmptyClass::CountAsOne,
    "skip" => EmptyClass::Skip);
