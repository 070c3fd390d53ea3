//! The fused CPU path of the overlap losses (Dice, Jaccard, Tversky, focal Tversky, log-Dice,
//! Generalized Dice, and Dice+CE with softmax or sigmoid): one plain-Rust pass over the logits
//! computes the activation and the soft counts per (image, class) (and the cross-entropy's
//! log-likelihood), the loss and its closed-form derivative with respect to the counts are
//! formed on the host, and a second pass turns them into the gradient with respect to the
//! logits. [`crate::SegLoss`] hands the result to Burn's
//! autodiff as one graph node (`crate::fused_node`), or through a surrogate
//! (`loss + sum(x * G) - detach(sum(x * G))`: value = the loss, gradient = `G`) where the
//! graph is not plain `Autodiff<Flex>`.
//!
//! Used on the flex backend for f32 and f64 logits; every other backend, dtype or option
//! (Lovász, focal, Dice+focal, [`Reduction::None`], Generalized Dice with squared
//! denominators on soft labels) takes the Burn tensor path, which computes the same function
//! (`tests/fused.rs` compares the two).
//!
//! The counts are the crate's soft-label-correct ones ([`crate::counts`]):
//! `P = sum p`, `T = sum y`, `D = sum |p - y|` (or sums of squares when squared),
//! `tp = (P + T - D) / 2`, `fp = P - tp`, `fn = T - tp`; the derivative of `|p - y|` at
//! `p = y` is taken as 0, as Burn's `abs` does. Through the activation:
//! softmax `dL/dz_c = p_c (g_c - sum_k p_k g_k)`, sigmoid `g_c p_c (1 - p_c)`, with
//! `g = dL/dp`. Ignored pixels count as `p = y = 0` (their gradient is 0), and a dropped
//! background channel still enters the softmax.
//!
//! f32 logits are processed in f32 lanes (the exponential by [`fast_exp_f32`]) with the sums
//! flushed to f64 every few hundred pixels; f64 logits in f64 with the standard `exp`.

use std::ops::{Add, Div, Mul, Neg, Sub};

use kiln_core::KilnError;
use kiln_core::burn::tensor::DType;
use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use crate::errors::{LossError, Result};
use crate::hyperparams::{
    Activation, EmptyClass, GdlWeight, LossKind, Reduction, SegLossValidParams, TargetKind,
};

/// Pixels processed together (lanes the compiler can vectorize).
const LANES: usize = 64;
/// Lane chunks summed in the working precision before the sums go to f64.
const BLOCK: usize = 64;

/// The label the kernels treat as "ignored": the ignore index, or one no checked class map
/// holds (labels are checked to be classes `0..C` or the ignore index).
pub(crate) fn ignore_sentinel(ignore_index: Option<i64>) -> i64 {
    ignore_index.unwrap_or(i64::MIN)
}

/// Floating-point element of the fused kernels (f32 or f64).
pub(crate) trait Real:
    Copy
    + Send
    + Sync
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + 'static
{
    const ZERO: Self;
    const ONE: Self;
    const NEG_INF: Self;
    const DTYPE: DType;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn abs(self) -> Self;
    /// Natural logarithm of a finite value `>= 1`: a softmax denominator (in `[1, C]`) or
    /// `1 + e^-|x|` (in `[1, 2]`), the only uses.
    fn ln_total(self) -> Self;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INF: Self = f32::NEG_INFINITY;
    const DTYPE: DType = DType::F32;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        fast_exp_f32(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::abs(self)
    }
    #[inline(always)]
    fn ln_total(self) -> Self {
        fast_ln_f32(self)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INF: Self = f64::NEG_INFINITY;
    const DTYPE: DType = DType::F64;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline(always)]
    fn ln_total(self) -> Self {
        f64::ln(self)
    }
}

/// `exp(x)` in f32 without a library call, so that loops over it vectorize: Cody–Waite range
/// reduction `x = n ln 2 + r`, Cephes' degree-6 polynomial for `exp(r)`, and `2^n` built from
/// its bits. Within 2 ulp of the exact value on `[-87, 88]`; `x` is clamped to that range
/// (below it the result is ~1.6e-38 instead of smaller; no overflow to infinity).
#[inline(always)]
pub(crate) fn fast_exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits.
    const SHIFT: f32 = 12_582_912.0;
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = x - n * C1 - n * C2;
    let poly = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = poly * r * r + r + 1.0;
    // n = bits(t) - bits(SHIFT), in [-126, 127] after the clamp: 2^n is a normal float.
    let n_int = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    let scale = f32::from_bits((n_int.wrapping_add(127) as u32) << 23);
    e * scale
}

/// `ln(x)` in f32 for a positive normal `x`, without a library call (so loops over it
/// vectorize): `x = 2^e m` with `m` in `[sqrt(1/2), sqrt(2))` from the bits, then
/// `ln m = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, `|s| < 0.172`, by its series to `s^9`
/// (truncation below 2e-9 relative), plus `e ln 2`. The kernels use it on softmax
/// denominators (in `[1, C]`) and on `1 + e^-|x|` (in `[1, 2]`).
#[inline(always)]
pub(crate) fn fast_ln_f32(x: f32) -> f32 {
    const LN2: f32 = std::f32::consts::LN_2;
    let bits = x.to_bits() as i32;
    // Exponent and mantissa in [1, 2); a mantissa at or above sqrt(2) moves to [sqrt(1/2), 1).
    let mut e = ((bits >> 23) & 0xff) - 127;
    let mut m = f32::from_bits(((bits & 0x007f_ffff) | 0x3f80_0000) as u32);
    if m >= std::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = (((s2 * (1.0 / 9.0) + 1.0 / 7.0) * s2 + 0.2) * s2 + 1.0 / 3.0) * s2 + 1.0;
    2.0 * s * series + e as f32 * LN2
}

/// The target as the kernels read it.
#[derive(Clone, Copy)]
pub(crate) enum HostTarget<'a> {
    /// A checked class map, row-major `[B, H, W]`; pixels labelled `ignore` are left out.
    Labels {
        /// The labels.
        labels: &'a [i64],
        /// The ignored label ([`ignore_sentinel`]).
        ignore: i64,
    },
    /// Dense one-hot or soft labels, row-major `[B, C, H, W]` (validated).
    Dense(&'a [f64]),
}

/// One image's target: its class map `[H * W]`, or its `C` dense planes.
enum ImageTarget<'a> {
    Labels { labels: &'a [i64], ignore: i64 },
    Dense(Vec<&'a [f64]>),
}

/// `N` values of `s` from `j` as an array (the kernels' lanes).
#[inline(always)]
fn lanes<T, const N: usize>(s: &[T], j: usize) -> &[T; N] {
    s[j..j + N]
        .try_into()
        .expect("a chunk lies inside its plane")
}

#[inline(always)]
fn lanes_mut<T, const N: usize>(s: &mut [T], j: usize) -> &mut [T; N] {
    (&mut s[j..j + N])
        .try_into()
        .expect("a chunk lies inside its plane")
}

/// Keep flags (1 = counted) of `N` pixels from `j`, and their labels for a class map (-1 for
/// an ignored pixel).
#[inline(always)]
fn keep_lanes<F: Real, const N: usize>(
    target: &ImageTarget<'_>,
    j: usize,
) -> ([F; N], Option<[i64; N]>) {
    match *target {
        ImageTarget::Labels { labels, ignore } => {
            let mut labels = *lanes::<i64, N>(labels, j);
            let mut keep = [F::ONE; N];
            for l in 0..N {
                let ignored = labels[l] == ignore;
                keep[l] = if ignored { F::ZERO } else { F::ONE };
                // The ignore index may be a class number: an ignored pixel has no class.
                labels[l] = if ignored { -1 } else { labels[l] };
            }
            (keep, Some(labels))
        }
        ImageTarget::Dense(_) => ([F::ONE; N], None),
    }
}

/// Target values of `N` pixels from `j` for `class`.
#[inline(always)]
fn target_lanes<F: Real, const N: usize>(
    target: &ImageTarget<'_>,
    labels: &Option<[i64; N]>,
    class: usize,
    j: usize,
) -> [F; N] {
    let mut y = [F::ZERO; N];
    match (labels, target) {
        (Some(labels), _) => {
            let class = class as i64;
            for l in 0..N {
                y[l] = if labels[l] == class { F::ONE } else { F::ZERO };
            }
        }
        (None, ImageTarget::Dense(planes)) => {
            let values = lanes::<f64, N>(planes[class], j);
            for l in 0..N {
                y[l] = F::from_f64(values[l]);
            }
        }
        (None, ImageTarget::Labels { .. }) => {}
    }
    y
}

/// Shape and options the kernels need.
#[derive(Clone, Copy)]
struct Layout {
    classes: usize,
    hw: usize,
    /// First class that makes loss terms (1 when the background is dropped).
    skip: usize,
    activation: Activation,
    squared: bool,
    /// Whether a cross-entropy over every class is added (Dice+CE): softmax's, or sigmoid's
    /// binary form per channel.
    cross_entropy: bool,
}

/// Sums of one image per class (all `C` classes; a dropped background stays 0).
struct ImageSums {
    pred: Vec<f64>,
    truth: Vec<f64>,
    dist: Vec<f64>,
    /// `sum y_c ln p_c` over the image's pixels and every class (the cross-entropy part of
    /// Dice+CE; 0 otherwise).
    log_likelihood: f64,
    /// Pixels counted (not ignored); summed with the cross-entropy only, 0 otherwise.
    kept: f64,
    /// False when a logit is NaN or infinite (its chunk is left unchanged).
    finite: bool,
}

/// Whether the fused path computes this loss.
pub(crate) fn supports(params: &SegLossValidParams) -> bool {
    let kind = match params.kind() {
        LossKind::Dice
        | LossKind::Jaccard
        | LossKind::Tversky { .. }
        | LossKind::FocalTversky { .. }
        | LossKind::LogDice => true,
        // Its weights follow |y|_1, which the squared kernels only sum for 0/1 labels
        // (they sum |y|_2^2).
        LossKind::GeneralizedDice { .. } => {
            !(params.squared() && params.target() == TargetKind::Soft)
        }
        // Softmax cross-entropy or sigmoid's binary form (the check refuses probabilities in).
        LossKind::DiceCe { .. } => params.activation() != Activation::None,
        _ => false,
    };
    kind && params.reduction() != Reduction::None
}

/// The loss of the logits (`[B, C, H, W]` row-major; the activation is applied inside): `src`
/// when given, else `x` itself. `x` is the working buffer (a `src` image is copied into it
/// image by image, while the copy is in cache): on return it holds the gradient of the loss
/// with respect to the logits when `want_grad`, and unspecified values otherwise. On a NaN or
/// infinite logit the error names its flat index.
pub(crate) fn loss_and_grad<F: Real>(
    params: &SegLossValidParams,
    dims: [usize; 4],
    src: Option<&[F]>,
    x: &mut [F],
    target: HostTarget<'_>,
    want_grad: bool,
) -> Result<f64> {
    let [b, c, h, w] = dims;
    let hw = h * w;
    let n = b * c * hw;
    if n == 0 {
        return Err(KilnError::Empty(format!("logits of shape {dims:?}")).into());
    }
    for len in [Some(x.len()), src.map(<[F]>::len)].into_iter().flatten() {
        if len != n {
            return Err(KilnError::shape("logits values", n, len).into());
        }
    }
    let target_len = match target {
        HostTarget::Labels { labels, .. } => (labels.len(), b * hw),
        HostTarget::Dense(d) => (d.len(), n),
    };
    if target_len.0 != target_len.1 {
        return Err(KilnError::shape("target values", target_len.1, target_len.0).into());
    }
    let skip = usize::from(!params.include_background());
    if skip == 1 && c < 2 {
        return Err(LossError::Unsupported {
            loss: params.kind().name(),
            message: "include_background = false needs at least 2 channels".into(),
        });
    }
    if let Some(weights) = params.class_weights()
        && weights.len() != c - skip
    {
        return Err(KilnError::shape(
            "class_weights",
            format!("{} weights (one per class kept)", c - skip),
            format!("{} weights", weights.len()),
        )
        .into());
    }
    if params.activation() == Activation::None {
        check_probabilities(src.unwrap_or(&*x))?;
    }
    let layout = Layout {
        classes: c,
        hw,
        skip,
        activation: params.activation(),
        squared: params.squared(),
        cross_entropy: matches!(params.kind(), LossKind::DiceCe { .. }),
    };
    let image_target = |i: usize| match target {
        HostTarget::Labels { labels, ignore } => ImageTarget::Labels {
            labels: &labels[i * hw..(i + 1) * hw],
            ignore,
        },
        HostTarget::Dense(d) => {
            ImageTarget::Dense(d[i * c * hw..(i + 1) * c * hw].chunks_exact(hw).collect())
        }
    };

    // Pass 1: probabilities in place of the logits, sums per (image, class).
    let sums: Vec<ImageSums> = x
        .par_chunks_mut(c * hw)
        .enumerate()
        .map(|(i, xi)| {
            if let Some(src) = src {
                xi.copy_from_slice(&src[i * c * hw..(i + 1) * c * hw]);
            }
            let target = image_target(i);
            Arch::new().dispatch(ForwardImage {
                layout: &layout,
                x: xi,
                target: &target,
            })
        })
        .collect();
    if sums.iter().any(|s| !s.finite) {
        // Chunks holding a non-finite logit were left unchanged; every other value is now a
        // probability, so the first non-finite value is the first non-finite logit.
        let index = x.iter().position(|v| !v.to_f64().is_finite());
        return Err(KilnError::NonFinite {
            context: "predictions".into(),
            index,
        }
        .into());
    }

    let (loss, coef_p, coef_d, ce_scale) = match params.kind() {
        LossKind::DiceCe {
            lambda_dice,
            lambda_ce,
        } => {
            // lambda_dice * Dice + lambda_ce * CE, CE = -sum y ln p / (kept pixels) (softmax)
            // or the binary form's mean over kept pixels and channels (sigmoid), as the tensor
            // path's `combined`.
            let (dice, mut coef_p, mut coef_d) =
                terms(&params.with_kind(LossKind::Dice), &sums, b, c)?;
            coef_p.iter_mut().for_each(|v| *v *= lambda_dice);
            coef_d.iter_mut().for_each(|v| *v *= lambda_dice);
            let kept = sums.iter().map(|s| s.kept).sum::<f64>().max(1.0);
            // Sigmoid's binary cross-entropy is a mean over pixels and channels.
            let terms_counted = match params.activation() {
                Activation::Sigmoid => kept * c as f64,
                _ => kept,
            };
            let log_likelihood: f64 = sums.iter().map(|s| s.log_likelihood).sum();
            let loss = lambda_dice * dice - lambda_ce * log_likelihood / terms_counted;
            (loss, coef_p, coef_d, lambda_ce / terms_counted)
        }
        _ => {
            let (loss, coef_p, coef_d) = terms(params, &sums, b, c)?;
            (loss, coef_p, coef_d, 0.0)
        }
    };
    if !want_grad {
        return Ok(loss);
    }

    // Pass 2: the gradient in place of the probabilities.
    x.par_chunks_mut(c * hw).enumerate().for_each(|(i, xi)| {
        // Per class, combined in f64 before rounding to F: with an empty class under light
        // smoothing `dL/dP` and `dL/dD` are large and nearly opposite, and only their sum
        // (or difference) reaches a pixel.
        let coefs: Vec<[F; 3]> = coef_p[i * c..(i + 1) * c]
            .iter()
            .zip(&coef_d[i * c..(i + 1) * c])
            .map(|(&a, &d)| {
                let k = if layout.squared {
                    [2.0 * (a + d), 2.0 * d, 0.0]
                } else {
                    [a + d, a - d, a]
                };
                k.map(F::from_f64)
            })
            .collect();
        let target = image_target(i);
        Arch::new().dispatch(BackwardImage {
            layout: &layout,
            x: xi,
            target: &target,
            coefs: &coefs,
            ce_scale: F::from_f64(ce_scale),
        });
    });
    Ok(loss)
}

/// Pass 1 of one image, compiled for the SIMD level [`Arch`] detects at run time (the loops
/// are written for autovectorization; `with_simd` inlines them under the target features).
struct ForwardImage<'a, 'b, F> {
    layout: &'a Layout,
    x: &'a mut [F],
    target: &'a ImageTarget<'b>,
}

impl<F: Real> WithSimd for ForwardImage<'_, '_, F> {
    type Output = ImageSums;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> ImageSums {
        forward_image(self.layout, self.x, self.target)
    }
}

/// Pass 2 of one image, dispatched like [`ForwardImage`].
struct BackwardImage<'a, 'b, F> {
    layout: &'a Layout,
    x: &'a mut [F],
    target: &'a ImageTarget<'b>,
    coefs: &'a [[F; 3]],
    /// `lambda_ce` over the cross-entropy's term count (kept pixels; times the channels for
    /// sigmoid); 0 without cross-entropy.
    ce_scale: F,
}

impl<F: Real> WithSimd for BackwardImage<'_, '_, F> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        backward_image(self.layout, self.x, self.target, self.coefs, self.ce_scale)
    }
}

fn check_probabilities<F: Real>(x: &[F]) -> Result<()> {
    if let Some(index) = x.iter().position(|v| !v.to_f64().is_finite()) {
        return Err(KilnError::NonFinite {
            context: "predictions".into(),
            index: Some(index),
        }
        .into());
    }
    match x.iter().position(|v| !(0.0..=1.0).contains(&v.to_f64())) {
        Some(index) => Err(LossError::ProbabilityOutOfRange {
            index,
            value: x[index].to_f64(),
        }),
        None => Ok(()),
    }
}

#[inline(always)]
fn forward_image<F: Real>(layout: &Layout, x: &mut [F], target: &ImageTarget<'_>) -> ImageSums {
    let c = layout.classes;
    let mut sums = ImageSums {
        pred: vec![0.0; c],
        truth: vec![0.0; c],
        dist: vec![0.0; c],
        log_likelihood: 0.0,
        kept: 0.0,
        finite: true,
    };
    let mut planes: Vec<&mut [F]> = x.chunks_exact_mut(layout.hw).collect();
    let body = layout.hw / LANES;
    forward_range::<F, LANES>(layout, &mut planes, target, 0, body, &mut sums);
    let tail = layout.hw % LANES;
    forward_range::<F, 1>(layout, &mut planes, target, body * LANES, tail, &mut sums);
    sums
}

/// Pass 1 over `chunks` chunks of `N` pixels from pixel `start`: the activation in place,
/// the counts into `sums`.
#[inline(always)]
fn forward_range<F: Real, const N: usize>(
    layout: &Layout,
    planes: &mut [&mut [F]],
    target: &ImageTarget<'_>,
    start: usize,
    chunks: usize,
    sums: &mut ImageSums,
) {
    let Layout {
        skip,
        activation,
        squared,
        cross_entropy,
        ..
    } = *layout;
    // Per class: pred, dist, truth lanes.
    let mut acc = vec![[[F::ZERO; N]; 3]; planes.len()];
    // sum_c y_c ln p_c and the counted pixels per lane (cross-entropy only).
    let mut log_likelihood = [F::ZERO; N];
    let mut kept = [F::ZERO; N];
    for chunk in 0..chunks {
        let j = start + chunk * N;
        // x * 0 is 0 for a finite x and NaN otherwise; the channel max serves the softmax.
        let mut check = [F::ZERO; N];
        let mut max = [F::NEG_INF; N];
        for plane in planes.iter() {
            let xs = lanes::<F, N>(plane, j);
            for l in 0..N {
                check[l] = check[l] + xs[l] * F::ZERO;
                max[l] = if xs[l] > max[l] { xs[l] } else { max[l] };
            }
        }
        if check.iter().any(|v| v.to_f64().is_nan()) {
            sums.finite = false;
            continue;
        }
        let (keep, labels) = keep_lanes::<F, N>(target, j);
        if cross_entropy {
            for l in 0..N {
                kept[l] = kept[l] + keep[l];
            }
        }
        match activation {
            Activation::Softmax if cross_entropy => {
                // ln p_c = (x_c - max) - ln(total): sum_c y_c ln p_c needs one logarithm
                // per pixel, of the denominator (in [1, C]).
                let mut total = [F::ZERO; N];
                let mut y_dot = [F::ZERO; N];
                let mut y_total = [F::ZERO; N];
                for (class, plane) in planes.iter_mut().enumerate() {
                    let y = target_lanes::<F, N>(target, &labels, class, j);
                    let xs = lanes_mut::<F, N>(plane, j);
                    for l in 0..N {
                        let shifted = xs[l] - max[l];
                        let e = shifted.exp();
                        xs[l] = e;
                        total[l] = total[l] + e;
                        y_dot[l] = y_dot[l] + y[l] * shifted;
                        y_total[l] = y_total[l] + y[l];
                    }
                }
                let mut inv = [F::ZERO; N];
                for l in 0..N {
                    inv[l] = F::ONE / total[l];
                    log_likelihood[l] =
                        log_likelihood[l] + y_dot[l] - y_total[l] * total[l].ln_total();
                }
                for plane in planes.iter_mut() {
                    let xs = lanes_mut::<F, N>(plane, j);
                    for l in 0..N {
                        xs[l] = xs[l] * inv[l];
                    }
                }
            }
            Activation::Softmax => {
                let mut total = [F::ZERO; N];
                for plane in planes.iter_mut() {
                    let xs = lanes_mut::<F, N>(plane, j);
                    for l in 0..N {
                        let e = (xs[l] - max[l]).exp();
                        xs[l] = e;
                        total[l] = total[l] + e;
                    }
                }
                let mut inv = [F::ZERO; N];
                for l in 0..N {
                    inv[l] = F::ONE / total[l];
                }
                for plane in planes.iter_mut() {
                    let xs = lanes_mut::<F, N>(plane, j);
                    for l in 0..N {
                        xs[l] = xs[l] * inv[l];
                    }
                }
            }
            Activation::Sigmoid if cross_entropy => {
                // Per channel y ln p + (1 - y) ln(1 - p) = y x - max(x, 0) - ln(1 + e^-|x|),
                // for counted pixels.
                for (class, plane) in planes.iter_mut().enumerate() {
                    let y = target_lanes::<F, N>(target, &labels, class, j);
                    let xs = lanes_mut::<F, N>(plane, j);
                    for l in 0..N {
                        let x = xs[l];
                        let relu = if x > F::ZERO { x } else { F::ZERO };
                        let softplus = relu + (F::ONE + (-x.abs()).exp()).ln_total();
                        log_likelihood[l] = log_likelihood[l] + keep[l] * (y[l] * x - softplus);
                        xs[l] = F::ONE / (F::ONE + (-x).exp());
                    }
                }
            }
            Activation::Sigmoid => {
                for plane in planes.iter_mut() {
                    let xs = lanes_mut::<F, N>(plane, j);
                    for v in xs.iter_mut() {
                        *v = F::ONE / (F::ONE + (-*v).exp());
                    }
                }
            }
            Activation::None => {}
        }
        for (class, (plane, acc)) in planes.iter().zip(acc.iter_mut()).enumerate().skip(skip) {
            let y = target_lanes::<F, N>(target, &labels, class, j);
            let ps = lanes::<F, N>(plane, j);
            let [pred, dist, truth] = acc;
            if squared {
                for l in 0..N {
                    let p = ps[l] * keep[l];
                    let d = p - y[l];
                    pred[l] = pred[l] + p * p;
                    dist[l] = dist[l] + d * d;
                    truth[l] = truth[l] + y[l] * y[l];
                }
            } else {
                for l in 0..N {
                    let p = ps[l] * keep[l];
                    pred[l] = pred[l] + p;
                    dist[l] = dist[l] + (p - y[l]).abs();
                    truth[l] = truth[l] + y[l];
                }
            }
        }
        if (chunk + 1) % BLOCK == 0 || chunk + 1 == chunks {
            flush(&mut acc, sums);
            sums.log_likelihood += log_likelihood.iter().map(|v| v.to_f64()).sum::<f64>();
            sums.kept += kept.iter().map(|v| v.to_f64()).sum::<f64>();
            log_likelihood = [F::ZERO; N];
            kept = [F::ZERO; N];
        }
    }
}

/// Generalized Dice: per unit (an image, or the batch pooled for `Batch` and `Global`),
/// `L = 1 - (2 sum_c w_c tp_c + nr) / (sum_c w_c (P_c + T_c) + dr)` with weights from the
/// target (no gradient), so `dL/dP_c = -w_c (1 - s) / den` and `dL/dD_c = w_c / den`
/// (`tp = (P + T - D) / 2`); the loss is the mean over units. Same layout as [`terms`].
fn generalized_dice_terms(
    params: &SegLossValidParams,
    sums: &[ImageSums],
    [b, c]: [usize; 2],
    weight: GdlWeight,
) -> (f64, Vec<f64>, Vec<f64>) {
    let skip = usize::from(!params.include_background());
    let k = c - skip;
    let per_image = params.reduction() == Reduction::PerImage;
    let rows = if per_image { b } else { 1 };
    let unit = |i: usize, class: usize| if per_image { i * k + class } else { class };
    let [pred, truth, dist] = pool(sums, skip, rows * k, &unit);
    let w = crate::loss::gdl_weights(&truth, k, weight);
    let (nr, dr) = (params.smooth_nr(), params.smooth_dr());
    let mut loss = 0.0;
    let mut grad_p = vec![0.0; rows * k];
    let mut grad_d = vec![0.0; rows * k];
    for r in 0..rows {
        let row = r * k..(r + 1) * k;
        let (mut num, mut den) = (0.0, 0.0);
        for u in row.clone() {
            num += w[u] * 0.5 * (pred[u] + truth[u] - dist[u]);
            den += w[u] * (pred[u] + truth[u]);
        }
        let (num, den) = (2.0 * num + nr, den + dr);
        let score = num / den;
        loss += (1.0 - score) / rows as f64;
        for u in row {
            grad_p[u] = -w[u] * (1.0 - score) / den / rows as f64;
            grad_d[u] = w[u] / den / rows as f64;
        }
    }
    let (coef_p, coef_d) = spread([&grad_p, &grad_d], [b, c], skip, &unit);
    (loss, coef_p, coef_d)
}

/// Adds the lane sums to the f64 sums and clears them.
#[inline(always)]
fn flush<F: Real, const N: usize>(acc: &mut [[[F; N]; 3]], sums: &mut ImageSums) {
    for (class, [pred, dist, truth]) in acc.iter_mut().enumerate() {
        let total = |lanes: &[F; N]| lanes.iter().map(|v| v.to_f64()).sum::<f64>();
        sums.pred[class] += total(pred);
        sums.dist[class] += total(dist);
        sums.truth[class] += total(truth);
        *pred = [F::ZERO; N];
        *dist = [F::ZERO; N];
        *truth = [F::ZERO; N];
    }
}

/// Loss value and `dL/dP`, `dL/dD` per (image, class), row-major `[B, C]` (0 for a dropped
/// background).
fn terms(
    params: &SegLossValidParams,
    sums: &[ImageSums],
    b: usize,
    c: usize,
) -> Result<(f64, Vec<f64>, Vec<f64>)> {
    if let LossKind::GeneralizedDice { weight } = params.kind() {
        return Ok(generalized_dice_terms(params, sums, [b, c], weight));
    }
    let skip = usize::from(!params.include_background());
    let k = c - skip;
    // Which term each (image, kept class) feeds.
    let (rows, cols) = match params.reduction() {
        Reduction::PerImage | Reduction::None => (b, k),
        Reduction::Batch => (1, k),
        Reduction::Global => (1, 1),
    };
    let unit = |i: usize, class: usize| match params.reduction() {
        Reduction::PerImage | Reduction::None => i * k + class,
        Reduction::Batch => class,
        Reduction::Global => 0,
    };
    let [pred, truth, dist] = pool(sums, skip, rows * cols, &unit);
    let empty: Vec<bool> = truth.iter().map(|&t| t == 0.0).collect();
    let coef = crate::loss::term_coefficients(params, &empty, rows, cols);
    let (nr, dr) = (params.smooth_nr(), params.smooth_dr());
    // num = n_tp tp + nr, den = d_tp tp + d_fp fp + d_fn fn + dr.
    let (n_tp, d_tp, d_fp, d_fn) = match params.kind() {
        LossKind::Dice | LossKind::LogDice => (2.0, 2.0, 1.0, 1.0),
        LossKind::Jaccard => (2.0, 2.0, 2.0, 2.0),
        LossKind::Tversky { alpha, beta } | LossKind::FocalTversky { alpha, beta, .. } => {
            (1.0, 1.0, alpha, beta)
        }
        other => {
            return Err(KilnError::invalid(
                "loss",
                other.name(),
                "not computed by the fused path (internal dispatch error)",
            )
            .into());
        }
    };
    // d tp / dP = 1/2, d tp / dD = -1/2; fp = P - tp; fn = T - tp.
    let dnum = (n_tp / 2.0, -n_tp / 2.0);
    let dden = ((d_tp + d_fp - d_fn) / 2.0, (d_fp + d_fn - d_tp) / 2.0);
    let mut loss = 0.0;
    let mut grad_p = vec![0.0; rows * cols];
    let mut grad_d = vec![0.0; rows * cols];
    for u in 0..rows * cols {
        let (score, ds_dp, ds_dd) = if empty[u] && params.empty() != EmptyClass::Smoothed {
            (1.0, 0.0, 0.0)
        } else {
            let tp = 0.5 * (pred[u] + truth[u] - dist[u]);
            let (fp, fn_) = (pred[u] - tp, truth[u] - tp);
            let num = n_tp * tp + nr;
            let den = d_tp * tp + d_fp * fp + d_fn * fn_ + dr;
            let s = num / den;
            (s, (dnum.0 - s * dden.0) / den, (dnum.1 - s * dden.1) / den)
        };
        let (value, dv_ds) = match params.kind() {
            LossKind::LogDice => (-score.ln(), -1.0 / score),
            LossKind::FocalTversky { gamma, .. } => {
                let base = 1.0 - score;
                if base < 1e-30 {
                    (1e-30f64.powf(gamma), 0.0)
                } else {
                    (base.powf(gamma), -gamma * base.powf(gamma - 1.0))
                }
            }
            _ => (1.0 - score, -1.0),
        };
        loss += coef[u] * value;
        grad_p[u] = coef[u] * dv_ds * ds_dp;
        grad_d[u] = coef[u] * dv_ds * ds_dd;
    }
    let (coef_p, coef_d) = spread([&grad_p, &grad_d], [b, c], skip, &unit);
    Ok((loss, coef_p, coef_d))
}

/// The counts `[P, T, D]` pooled per loss term: `unit(image, kept class)` names the term
/// (of `units`) each (image, class) feeds; `skip` is the first kept class.
fn pool(
    sums: &[ImageSums],
    skip: usize,
    units: usize,
    unit: &dyn Fn(usize, usize) -> usize,
) -> [Vec<f64>; 3] {
    let mut pooled = [vec![0.0; units], vec![0.0; units], vec![0.0; units]];
    for (i, s) in sums.iter().enumerate() {
        for class in skip..s.pred.len() {
            let u = unit(i, class - skip);
            pooled[0][u] += s.pred[class];
            pooled[1][u] += s.truth[class];
            pooled[2][u] += s.dist[class];
        }
    }
    pooled
}

/// Per-term derivatives `[dL/dP, dL/dD]` spread back over (image, class), row-major `[B, C]`
/// (0 for a dropped background), through the same `unit` map as [`pool`].
fn spread(
    [grad_p, grad_d]: [&[f64]; 2],
    [b, c]: [usize; 2],
    skip: usize,
    unit: &dyn Fn(usize, usize) -> usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut coef_p = vec![0.0; b * c];
    let mut coef_d = vec![0.0; b * c];
    for i in 0..b {
        for class in skip..c {
            let u = unit(i, class - skip);
            coef_p[i * c + class] = grad_p[u];
            coef_d[i * c + class] = grad_d[u];
        }
    }
    (coef_p, coef_d)
}

#[inline(always)]
fn backward_image<F: Real>(
    layout: &Layout,
    x: &mut [F],
    target: &ImageTarget<'_>,
    coefs: &[[F; 3]],
    ce_scale: F,
) {
    let mut planes: Vec<&mut [F]> = x.chunks_exact_mut(layout.hw).collect();
    let body = layout.hw / LANES;
    let range = |start, chunks| (coefs, ce_scale, start, chunks);
    backward_range::<F, LANES>(layout, &mut planes, target, range(0, body));
    let tail = layout.hw % LANES;
    backward_range::<F, 1>(layout, &mut planes, target, range(body * LANES, tail));
}

/// `dL/dp` of `N` pixels of one class (0 for ignored pixels) from its coefficients `k`:
/// with `a = dL/dP`, `d = dL/dD`, `k = [a + d, a - d, a]` for L1 counts (`p > y`, `p < y`,
/// `p = y`: Burn's `abs` has derivative `sign(x)`, 0 at 0), `k = [2(a + d), 2d, 0]` for
/// squared counts (`dL/dp = 2(a + d) p - 2d y`).
#[inline(always)]
fn grad_p<F: Real, const N: usize>(
    squared: bool,
    ps: &[F; N],
    y: &[F; N],
    keep: &[F; N],
    k: &[F; 3],
) -> [F; N] {
    let mut g = [F::ZERO; N];
    let [k0, k1, k2] = *k;
    if squared {
        for l in 0..N {
            g[l] = keep[l] * (k0 * ps[l] * keep[l] - k1 * y[l]);
        }
    } else {
        for l in 0..N {
            let diff = ps[l] * keep[l] - y[l];
            let v = if diff > F::ZERO {
                k0
            } else if diff < F::ZERO {
                k1
            } else {
                k2
            };
            g[l] = keep[l] * v;
        }
    }
    g
}

/// Pass 2 over `chunks` chunks of `N` pixels from `start`: overwrites the probabilities
/// with `dL/dz`. With cross-entropy, `ce_scale (p_c sum_k y_k - y_c)` is added to the
/// softmax logit gradient of every class.
#[inline(always)]
fn backward_range<F: Real, const N: usize>(
    layout: &Layout,
    planes: &mut [&mut [F]],
    target: &ImageTarget<'_>,
    (coefs, ce_scale, start, chunks): (&[[F; 3]], F, usize, usize),
) {
    let Layout {
        skip,
        activation,
        squared,
        cross_entropy,
        ..
    } = *layout;
    let mut g = vec![[F::ZERO; N]; planes.len()];
    for chunk in 0..chunks {
        let j = start + chunk * N;
        let (keep, labels) = keep_lanes::<F, N>(target, j);
        let mut dot = [F::ZERO; N];
        for (class, plane) in planes.iter().enumerate().skip(skip) {
            let y = target_lanes::<F, N>(target, &labels, class, j);
            let ps = lanes::<F, N>(plane, j);
            let gc = grad_p(squared, ps, &y, &keep, &coefs[class]);
            for l in 0..N {
                dot[l] = dot[l] + ps[l] * gc[l];
            }
            g[class] = gc;
        }
        // sum_k y_k per pixel: a kept pixel of a class map has one class (its keep flag);
        // dense labels are summed.
        let mut y_total = keep;
        if cross_entropy && activation == Activation::Softmax && labels.is_none() {
            y_total = [F::ZERO; N];
            for class in 0..planes.len() {
                let y = target_lanes::<F, N>(target, &labels, class, j);
                for l in 0..N {
                    y_total[l] = y_total[l] + y[l];
                }
            }
        }
        for (class, (plane, gc)) in planes.iter_mut().zip(&g).enumerate() {
            let ps = lanes_mut::<F, N>(plane, j);
            match activation {
                Activation::Softmax if cross_entropy => {
                    let y = target_lanes::<F, N>(target, &labels, class, j);
                    for l in 0..N {
                        let p = ps[l];
                        ps[l] = p * (gc[l] - dot[l]) + ce_scale * (p * y_total[l] - y[l]);
                    }
                }
                Activation::Softmax => {
                    for l in 0..N {
                        ps[l] = ps[l] * (gc[l] - dot[l]);
                    }
                }
                Activation::Sigmoid if cross_entropy => {
                    let y = target_lanes::<F, N>(target, &labels, class, j);
                    for l in 0..N {
                        let p = ps[l];
                        ps[l] = gc[l] * p * (F::ONE - p) + ce_scale * keep[l] * (p - y[l]);
                    }
                }
                Activation::Sigmoid => {
                    for l in 0..N {
                        ps[l] = gc[l] * ps[l] * (F::ONE - ps[l]);
                    }
                }
                Activation::None => *ps = *gc,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_matches_the_library_exp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let got = f64::from(fast_exp_f32(x));
            let want = f64::from(x).exp();
            worst = worst.max(((got - want) / want).abs());
            x += 0.001_7;
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        assert_eq!(fast_exp_f32(0.0), 1.0);
        assert!(fast_exp_f32(-1e4) > 0.0 && fast_exp_f32(-1e4) < 1e-37);
        assert!(fast_exp_f32(1e4).is_finite());
        assert!(fast_exp_f32(f32::NEG_INFINITY) < 1e-37);
    }

    #[test]
    fn fast_ln_matches_the_library_ln() {
        // Relative to max(|ln x|, ln 2 / 2): near x = 1 the error is judged on the scale of
        // the neighbouring values (a softmax denominator of C classes has ln in [0, ln C]).
        let mut worst = 0.0f64;
        let mut x = 1.0e-3f32;
        while x <= 1.0e4 {
            let got = f64::from(fast_ln_f32(x));
            let want = f64::from(x).ln();
            worst = worst.max((got - want).abs() / want.abs().max(0.35));
            x *= 1.000_37;
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        assert_eq!(fast_ln_f32(1.0), 0.0);
        assert!((f64::from(fast_ln_f32(4.0)) - 4f64.ln()).abs() < 2e-7);
    }
}
