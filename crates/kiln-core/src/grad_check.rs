//! Checking autodiff gradients against central finite differences.
//!
//! Every differentiable piece of kiln is tested with [`grad_check`]: the analytic gradient
//! from Burn's `backward()` is compared, entry by entry, with
//! `(f(x + h e_i) - f(x - h e_i)) / 2h` evaluated in f64.

use burn::tensor::{Device, Tensor};

use crate::convert::{tensor_f64, to_vec_f64};
use crate::errors::{KilnError, Result, ensure_finite, ensure_nonempty};

/// Step size and tolerance of a gradient check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheckConfig {
    /// Finite-difference step `h` (f64; 1e-6 balances truncation and rounding error).
    pub step: f64,
    /// Largest acceptable relative error.
    pub tolerance: f64,
    /// Denominator floor: the error of entry i is `|a - n| / max(|a|, |n|, floor)`, so entries
    /// whose true gradient is ~0 are judged on absolute error instead of amplified noise.
    pub floor: f64,
}

impl Default for GradCheckConfig {
    fn default() -> Self {
        Self {
            step: 1e-6,
            tolerance: 1e-6,
            floor: 1e-4,
        }
    }
}

/// What a gradient check found.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// Gradient from autodiff.
    pub analytic: Vec<f64>,
    /// Gradient from central differences.
    pub numeric: Vec<f64>,
    /// Worst relative error over all entries.
    pub max_rel_error: f64,
    /// Flat index of the worst entry.
    pub worst_index: usize,
    /// Whether `max_rel_error <= tolerance`.
    pub passed: bool,
}

impl std::fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.worst_index;
        write!(
            f,
            "grad check {}: max relative error {:.3e} at index {i} (autodiff {:.9e}, finite difference {:.9e})",
            if self.passed { "passed" } else { "FAILED" },
            self.max_rel_error,
            self.analytic[i],
            self.numeric[i],
        )
    }
}

/// Compares the autodiff gradient of `f` at `x` with central finite differences.
///
/// `f` maps an f64 tensor of `shape` to a tensor whose *sum* is the scalar being differentiated.
/// `device` may be any device; the analytic pass runs on its autodiff version. The check always
/// works in f64, so `f` must not cast to f32 internally.
pub fn grad_check<const D: usize, F>(
    f: F,
    x: &[f64],
    shape: [usize; D],
    device: &Device,
    config: &GradCheckConfig,
) -> Result<GradCheckReport>
where
    F: Fn(Tensor<D>) -> Tensor<1>,
{
    ensure_nonempty(x, "grad_check input")?;
    ensure_finite(x, "grad_check input")?;
    if !(config.step > 0.0 && config.step.is_finite()) {
        return Err(KilnError::invalid(
            "step",
            config.step,
            "must be finite and > 0",
        ));
    }
    let plain = device.clone().without_autodiff();
    let ad = device.clone().autodiff();

    let input = tensor_f64(x, shape, &ad)?.require_grad();
    let grads = f(input.clone()).sum().backward();
    let analytic = match input.grad(&grads) {
        Some(g) => to_vec_f64(&g)?,
        // The input does not reach the output: its gradient is identically zero.
        None => vec![0.0; x.len()],
    };

    let eval = |values: &[f64]| -> Result<f64> {
        let out = f(tensor_f64(values, shape, &plain)?).sum();
        let v = to_vec_f64(&out)?;
        Ok(v[0])
    };
    let mut probe = x.to_vec();
    let mut numeric = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        probe[i] = x[i] + config.step;
        let up = eval(&probe)?;
        probe[i] = x[i] - config.step;
        let down = eval(&probe)?;
        probe[i] = x[i];
        numeric.push((up - down) / (2.0 * config.step));
    }
    ensure_finite(&analytic, "autodiff gradient")?;
    ensure_finite(&numeric, "finite-difference gradient")?;

    let (worst_index, max_rel_error) = analytic
        .iter()
        .zip(&numeric)
        .map(|(a, n)| (a - n).abs() / a.abs().max(n.abs()).max(config.floor))
        .enumerate()
        .fold(
            (0, 0.0f64),
            |best, (i, e)| if e > best.1 { (i, e) } else { best },
        );
    Ok(GradCheckReport {
        passed: max_rel_error <= config.tolerance,
        analytic,
        numeric,
        max_rel_error,
        worst_index,
    })
}
