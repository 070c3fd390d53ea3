//! Blank collapse: early in training a CTC network can predict only blanks (the all-blank path
//! is the cheapest way to lower the loss at first). [`BlankStats`] measures it; the remedies
//! practitioners use are [`blank_bias_init`] and the regularizers [`entropy_bonus`] and
//! [`label_prior_penalty`].

use kiln_core::KilnError;
use kiln_core::burn::tensor::Tensor;
use serde::Serialize;

use crate::errors::Result;

/// Blank statistics of a batch of per-frame log-probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BlankStats {
    /// Mean blank posterior `exp(lp[blank])` over valid frames.
    pub blank_mass: f64,
    /// Fraction of valid frames whose most probable class is blank.
    pub blank_frame_fraction: f64,
    /// Fraction of samples whose greedy decoding is empty.
    pub empty_output_fraction: f64,
}

impl BlankStats {
    /// Whether the batch looks collapsed (at least `threshold` of the frames decode as blank
    /// and every sample decodes to nothing).
    pub fn collapsed(&self, threshold: f64) -> bool {
        self.blank_frame_fraction >= threshold && self.empty_output_fraction >= 1.0
    }
}

/// Measures blank collapse on a `[T, N, C]` row-major batch; `lengths[n]` valid frames.
pub fn blank_stats(
    lp: &[f64],
    dims: [usize; 3],
    lengths: &[usize],
    blank: usize,
) -> Result<BlankStats> {
    let [t_max, n, c] = dims;
    let total = kiln_core::errors::checked_len(&dims, "blank_stats input")?;
    if lp.len() != total || lengths.len() != n || blank >= c {
        return Err(KilnError::shape(
            "blank_stats input",
            format!("[T, N, C] = {dims:?}, {n} lengths, blank < C"),
            format!(
                "{} values, {} lengths, blank {blank}",
                lp.len(),
                lengths.len()
            ),
        )
        .into());
    }
    let (mut mass, mut blank_frames, mut frames, mut empty) = (0.0, 0usize, 0usize, 0usize);
    for (b, &len) in lengths.iter().enumerate() {
        let mut any_label = false;
        for t in 0..len.min(t_max) {
            let row = &lp[(t * n + b) * c..(t * n + b + 1) * c];
            mass += row[blank].exp();
            let arg = kiln_core::numerics::argmax(row).map_or(blank, |(i, _)| i);
            if arg == blank {
                blank_frames += 1;
            } else {
                any_label = true;
            }
            frames += 1;
        }
        if !any_label {
            empty += 1;
        }
    }
    let f = frames.max(1) as f64;
    Ok(BlankStats {
        blank_mass: mass / f,
        blank_frame_fraction: blank_frames as f64 / f,
        empty_output_fraction: empty as f64 / n.max(1) as f64,
    })
}

/// Remedy 1: start the output layer's blank logit at `bias` (a positive bias makes the model
/// *start* in the blank-dominated regime instead of falling into it; a negative one delays
/// it). Returns the bias vector with the blank entry set.
pub fn blank_bias_init(mut biases: Vec<f32>, blank: usize, bias: f32) -> Result<Vec<f32>> {
    let len = biases.len();
    let slot = biases.get_mut(blank).ok_or_else(|| {
        KilnError::invalid("blank", blank, format!("output layer has {len} classes"))
    })?;
    *slot = bias;
    Ok(biases)
}

/// Remedy 2: mean per-frame entropy of `log_probs` `[T, N, C]` (subtract `weight *` this from
/// the loss to reward spread-out posteriors).
pub fn entropy_bonus(log_probs: Tensor<3>) -> Tensor<1> {
    let p = log_probs.clone().exp();
    let h = (p * log_probs).sum_dim(2).neg();
    h.mean().reshape([1])
}

/// Remedy 3: KL divergence from the batch-average posterior to a label prior `prior` (C
/// probabilities); add `weight *` this to the loss to keep the model from putting all mass on
/// blank. A prior whose length is not `C` is a [`KilnError::ShapeMismatch`].
pub fn label_prior_penalty(log_probs: Tensor<3>, prior: Tensor<1>) -> Result<Tensor<1>> {
    let [t, n, c] = log_probs.dims();
    let [p] = prior.dims();
    if p != c {
        return Err(KilnError::shape("label prior length vs classes", c, p).into());
    }
    let avg = log_probs.exp().reshape([t * n, c]).mean_dim(0).reshape([c]);
    let log_ratio = avg.clone().clamp_min(1e-12).log() - prior.clamp_min(1e-12).log();
    Ok((avg * log_ratio).sum().reshape([1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_core::{Autodiff, BackendKind, Precision, convert, device};

    #[test]
    fn collapse_is_detected_and_regularizers_have_known_values() {
        let (t, n, c) = (4, 2, 3);
        let mut lp = vec![(0.1f64).ln(); t * n * c];
        for i in 0..t * n {
            lp[i * c] = 0.8f64.ln();
        }
        let s = blank_stats(&lp, [t, n, c], &[4, 2], 0).unwrap();
        assert!((s.blank_mass - 0.8).abs() < 1e-12);
        assert_eq!(s.blank_frame_fraction, 1.0);
        assert!(s.collapsed(0.95));
        lp[c + 1] = 0.9f64.ln(); // sample 1, frame 0 now says class 1
        let s = blank_stats(&lp, [t, n, c], &[4, 2], 0).unwrap();
        assert_eq!(s.empty_output_fraction, 0.5);
        assert!(!s.collapsed(0.5));
        assert!(blank_stats(&lp, [t, n, c], &[4], 0).is_err());
        assert_eq!(
            blank_bias_init(vec![0.0; 3], 0, 3.0).unwrap(),
            vec![3.0, 0.0, 0.0]
        );
        assert!(blank_bias_init(vec![0.0; 3], 3, 3.0).is_err());

        let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
        let uniform = convert::tensor_f32(&[(1.0f32 / 3.0).ln(); 6], [1, 2, 3], &dev).unwrap();
        let h = convert::scalar_f64(&entropy_bonus(uniform.clone())).unwrap();
        assert!((h - 3f64.ln()).abs() < 1e-5);
        let short = convert::tensor_f32(&[0.5; 2], [2], &dev).unwrap();
        assert!(matches!(
            label_prior_penalty(uniform.clone(), short),
            Err(crate::CtcError::Core(KilnError::ShapeMismatch { .. }))
        ));
        let prior = convert::tensor_f32(&[1.0 / 3.0; 3], [3], &dev).unwrap();
        assert!(
            convert::scalar_f64(&label_prior_penalty(uniform, prior).unwrap())
                .unwrap()
                .abs()
                < 1e-6
        );
    }
}
