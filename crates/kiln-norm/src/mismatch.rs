//! The train/inference mismatch harness: how differently a model behaves with batch
//! statistics (training mode) and with its running statistics (inference mode).

use kiln_core::burn;
use kiln_core::{KilnError, convert};

use burn::module::Module;
use burn::tensor::Tensor;
use serde::Serialize;

use crate::errors::Result;

/// A classifier over images `[batch, channels, height, width]` returning logits
/// `[batch, classes]`.
pub trait Classifier: Module {
    /// The logits.
    fn logits(&self, images: Tensor<4>) -> Result<Tensor<2>>;
}

/// The two modes of one model on the same samples, in batches of `batch_size`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeGap {
    /// Batch size of the training-mode evaluation.
    pub batch_size: usize,
    /// Samples evaluated (whole batches only).
    pub samples: usize,
    /// Error rate with batch statistics (training mode).
    pub train_mode_error: f64,
    /// Error rate with running statistics (inference mode).
    pub eval_mode_error: f64,
    /// Mean cross-entropy in training mode.
    pub train_mode_loss: f64,
    /// Mean cross-entropy in inference mode.
    pub eval_mode_loss: f64,
    /// `mean |logits_train - logits_eval| / mean |logits_eval|`.
    pub output_gap: f64,
}

impl ModeGap {
    /// `eval_mode_error - train_mode_error`: positive when inference is worse than the
    /// behaviour the model was trained with.
    pub fn error_gap(&self) -> f64 {
        self.eval_mode_error - self.train_mode_error
    }
}

fn cross_entropy_and_hits(
    logits: &[f64],
    labels: &[usize],
    classes: usize,
) -> Result<(f64, usize)> {
    let mut loss = 0.0;
    let mut hits = 0;
    for (row, &y) in logits.chunks(classes).zip(labels) {
        if y >= classes {
            return Err(
                KilnError::invalid("label", y, format!("must be < {classes} classes")).into(),
            );
        }
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        loss += lse - row[y];
        let best = row
            .iter()
            .enumerate()
            .fold(
                (0, f64::NEG_INFINITY),
                |b, (i, &v)| if v > b.1 { (i, v) } else { b },
            )
            .0;
        hits += usize::from(best == y);
    }
    Ok((loss, hits))
}

/// Evaluates `model` on `images` (on a plain device) and `labels` in both modes, in whole
/// batches of `batch_size` (a trailing partial batch is left out). The training-mode pass
/// runs on an independent copy (`valid().train()`), so `model`'s running statistics are not
/// touched.
///
/// Errors: `batch_size` 0 or larger than the data, a label count that differs from the
/// images, a label out of range, non-finite logits, and the model's own errors (e.g. a
/// BatchNorm seeing one value per channel).
pub fn mode_gap<M: Classifier>(
    model: &M,
    images: &Tensor<4>,
    labels: &[usize],
    batch_size: usize,
) -> Result<ModeGap> {
    let n = images.dims()[0];
    if labels.len() != n {
        return Err(
            KilnError::shape("mode_gap labels", format!("{n} labels"), labels.len()).into(),
        );
    }
    if batch_size == 0 || batch_size > n {
        return Err(
            KilnError::invalid("batch_size", batch_size, format!("must be in 1..={n}")).into(),
        );
    }
    let eval = model.valid();
    let train = model.valid().train();
    let plain = images.device().without_autodiff();
    let batches = n / batch_size;
    let mut sums = [0.0f64; 4]; // train loss, eval loss, |diff|, |eval|
    let mut hits = [0usize; 2];
    let mut classes = 0;
    for k in 0..batches {
        let x = images
            .clone()
            .narrow(0, k * batch_size, batch_size)
            .to_device(&plain);
        let y = &labels[k * batch_size..(k + 1) * batch_size];
        let lt = convert::to_vec_f64(&train.logits(Tensor::from_inner(x.clone()))?)?;
        let le = convert::to_vec_f64(&eval.logits(x)?)?;
        kiln_core::errors::ensure_finite(&lt, "training-mode logits")?;
        kiln_core::errors::ensure_finite(&le, "inference-mode logits")?;
        classes = le.len() / batch_size;
        let (ct, ht) = cross_entropy_and_hits(&lt, y, classes)?;
        let (ce, he) = cross_entropy_and_hits(&le, y, classes)?;
        sums[0] += ct;
        sums[1] += ce;
        sums[2] += lt.iter().zip(&le).map(|(a, b)| (a - b).abs()).sum::<f64>();
        sums[3] += le.iter().map(|v| v.abs()).sum::<f64>();
        hits[0] += ht;
        hits[1] += he;
    }
    let samples = batches * batch_size;
    let m = samples as f64;
    let _ = classes;
    Ok(ModeGap {
        batch_size,
        samples,
        train_mode_error: 1.0 - hits[0] as f64 / m,
        eval_mode_error: 1.0 - hits[1] as f64 / m,
        train_mode_loss: sums[0] / m,
        eval_mode_loss: sums[1] / m,
        output_gap: sums[2] / sums[3].max(f64::MIN_POSITIVE),
    })
}

/// [`mode_gap`] for each batch size in `batch_sizes` (e.g. 1, 2, 4, ..., 32).
pub fn mode_gaps<M: Classifier>(
    model: &M,
    images: &Tensor<4>,
    labels: &[usize],
    batch_sizes: &[usize],
) -> Result<Vec<ModeGap>> {
    batch_sizes
        .iter()
        .map(|&b| mode_gap(model, images, labels, b))
        .collect()
}
