//! The built-in `check` experiment: proves the backend layer works end to end.
//!
//! It fits a linear least-squares model by gradient descent with Burn's autodiff on the chosen
//! backend and compares the result with the closed-form solution solved on the host in f64.
//! If this experiment is wrong, every other experiment is suspect.

use rand::RngExt;

use crate::backend::{Autodiff, Precision, device};
use crate::convert::{tensor_f32, to_vec_f64};
use crate::errors::Result;
use crate::experiment::{ExperimentConfig, ExperimentReport, Figure};
use crate::numerics::standard_normal as normal;
use crate::seed::rng_stream;

/// Name used by `kiln reproduce check`.
pub const NAME: &str = "check";

/// Solves `a x = b` for a small dense symmetric positive definite `a` (Cholesky).
fn solve_spd(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            l[i * n + j] = if i == j {
                (a[i * n + i] - s).sqrt()
            } else {
                (a[i * n + j] - s) / l[j * n + j]
            };
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    x
}

/// Runs the check experiment.
pub fn run(config: &ExperimentConfig) -> Result<ExperimentReport> {
    let (n, d, steps) = if config.quick {
        (256, 8, 200)
    } else {
        (4096, 32, 1000)
    };
    let lr = 0.1;
    let mut rng = rng_stream(config.seed, 0);
    let w_true: Vec<f64> = (0..d).map(|_| normal(&mut rng)).collect();
    let x: Vec<f64> = (0..n * d).map(|_| normal(&mut rng)).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            let clean: f64 = (0..d).map(|j| x[i * d + j] * w_true[j]).sum();
            clean + 0.1 * normal(&mut rng)
        })
        .collect();

    // Host reference: normal equations (X^T X) w = X^T y in f64.
    let mut xtx = vec![0.0; d * d];
    let mut xty = vec![0.0; d];
    for i in 0..n {
        for a in 0..d {
            xty[a] += x[i * d + a] * y[i];
            for b in 0..d {
                xtx[a * d + b] += x[i * d + a] * x[i * d + b];
            }
        }
    }
    let w_exact = solve_spd(&xtx, &xty, d);
    let residual = |w: &[f64]| -> f64 {
        (0..n)
            .map(|i| {
                let p: f64 = (0..d).map(|j| x[i * d + j] * w[j]).sum();
                (p - y[i]).powi(2)
            })
            .sum::<f64>()
            / n as f64
    };
    let exact_loss = residual(&w_exact);

    let dev = device(config.backend, Autodiff::On, Precision::F32)?;
    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let yf: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    let xt = tensor_f32(&xf, [n, d], &dev)?;
    let yt = tensor_f32(&yf, [n, 1], &dev)?;
    let init: Vec<f32> = (0..d).map(|_| 0.01 * rng.random::<f32>()).collect();
    let mut w = tensor_f32(&init, [d, 1], &dev)?;

    config.progress.set_length(steps as u64);
    config.progress.message("gradient descent on least squares");
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let wr = w.clone().detach().require_grad();
        let diff = xt.clone().matmul(wr.clone()) - yt.clone();
        let loss = (diff.clone() * diff).mean();
        losses.push(to_vec_f64(&loss)?[0]);
        let grads = loss.backward();
        let g = wr.grad(&grads).expect("w reaches the loss");
        w = wr.detach() - g * lr;
        config.progress.inc(1);
    }
    let w_fit = to_vec_f64(&w)?;
    let param_err = w_fit
        .iter()
        .zip(&w_exact)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
        / w_exact.iter().map(|v| v * v).sum::<f64>().sqrt();
    let final_loss = residual(&w_fit);

    let mut report = ExperimentReport::new(
        NAME,
        "Backend check: least squares by gradient descent",
        format!(
            "Fits y = Xw + noise (n = {n}, d = {d}) by {steps} steps of full-batch gradient descent \
             (lr {lr}) with Burn autodiff on the `{}` backend in f32, and compares with the normal-\
             equation solution computed on the host in f64. Agreement means device selection, \
             tensor conversion and autodiff all work.",
            config.backend
        ),
    );
    report
        .metric(
            "final_loss",
            final_loss,
            "MSE",
            "training loss of the gradient-descent fit",
        )
        .metric(
            "exact_loss",
            exact_loss,
            "MSE",
            "loss of the closed-form least-squares fit",
        )
        .metric(
            "relative_parameter_error",
            param_err,
            "relative",
            "||w_gd - w_exact|| / ||w_exact||",
        )
        .figure(
            Figure::new(
                "check_loss",
                "Gradient descent on least squares",
                "step",
                "MSE",
            )
            .log_y()
            .with_series(
                "gradient descent (Burn autodiff)",
                (0..steps).map(|s| s as f64).collect(),
                losses,
            )
            .with_series(
                "closed form (host f64)",
                vec![0.0, (steps - 1) as f64],
                vec![exact_loss, exact_loss],
            ),
        );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_small_system() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = solve_spd(&a, &[2.0, 1.0], 2);
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
    }
}
