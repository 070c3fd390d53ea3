//! Converting BatchNorm running variances between PyTorch's convention (unbiased batch
//! variances folded in) and Burn's (biased), for weights moved between the two.
//!
//! With momentum `m`, `t` steps, `n` values per channel per batch and initial value `v0`,
//! both running variances are `(1-m)^t v0 + sum_k m (1-m)^(t-k) v_k` with `v_k` the biased or
//! the unbiased (`n/(n-1)` times larger) batch variance, so
//! `unbiased - a = n/(n-1) (biased - a)` with `a = (1-m)^t v0`: exact when `t` is known
//! (PyTorch's `num_batches_tracked`), and `a -> 0` after long training.

use kiln_core::errors::ensure_finite;

use crate::errors::Result;
use crate::hyperparams::{RunningVarValidParams, VarianceConvention};

/// Converts running variances `values` kept in convention `from` into convention `to`.
///
/// Fails on NaN/inf values. The result is clamped at 0 (a tiny negative value could only
/// come from rounding).
pub fn convert_running_var(
    values: &[f64],
    from: VarianceConvention,
    to: VarianceConvention,
    params: &RunningVarValidParams,
) -> Result<Vec<f64>> {
    ensure_finite(values, "running_var")?;
    if from == to {
        return Ok(values.to_vec());
    }
    let n = params.samples_per_channel() as f64;
    let k = n / (n - 1.0);
    let initial_share = match params.steps() {
        Some(t) => (1.0 - params.momentum()).powf(t as f64) * params.initial_var(),
        None => 0.0,
    };
    let factor = match to {
        VarianceConvention::Unbiased => k,
        VarianceConvention::Biased => 1.0 / k,
    };
    Ok(values
        .iter()
        .map(|&v| (initial_share + (v - initial_share) * factor).max(0.0))
        .collect())
}
