//! Adam and L-BFGS over a flat host parameter vector, each ending with a typed [`StopReason`].
//!
//! Why not burn-optim's L-BFGS: it works on a `Module` with `GradientsParams`, runs a fixed
//! number of inner iterations per `step` and does not say why it stopped; PINN users need the
//! stop reason (DeepXDE #536, #1819), and kiln's parameters are one flat vector already. This is
//! a port of the same algorithm (PyTorch's L-BFGS with the strong-Wolfe line search of Nocedal &
//! Wright, cubic interpolation), on `f64` host vectors, with every exit typed. The loss and
//! gradient themselves are computed by Burn in the run's precision.

use serde::{Deserialize, Serialize};

use crate::errors::{PinnError, Result};

/// Why an optimizer phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The iteration budget was used up.
    MaxIterations,
    /// The function-evaluation budget was used up.
    MaxEvaluations,
    /// `max |grad| <= gradient tolerance`.
    GradientTolerance,
    /// The loss, the step or the directional derivative changed by less than the change
    /// tolerance.
    ChangeTolerance,
    /// The line search found no point with a lower loss.
    LineSearchFailure,
    /// The wall-clock limit of the run was reached.
    TimeLimit,
    /// The error against the reference solution reached the target
    /// ([`crate::PinnParams::target_l2`]).
    TargetReached,
    /// The phase was given zero steps.
    Skipped,
}

impl StopReason {
    /// Snake-case name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::MaxIterations => "max_iterations",
            StopReason::MaxEvaluations => "max_evaluations",
            StopReason::GradientTolerance => "gradient_tolerance",
            StopReason::ChangeTolerance => "change_tolerance",
            StopReason::LineSearchFailure => "line_search_failure",
            StopReason::TimeLimit => "time_limit",
            StopReason::TargetReached => "target_reached",
            StopReason::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How one optimizer phase went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseOutcome {
    /// Iterations taken.
    pub steps: usize,
    /// Loss/gradient evaluations.
    pub evaluations: usize,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Loss at the final parameters.
    pub final_loss: f64,
    /// Loss after each iteration.
    pub history: Vec<f64>,
}

/// A loss/gradient oracle.
pub type Oracle<'a> = dyn FnMut(&[f64]) -> Result<(f64, Vec<f64>)> + 'a;

fn checked(
    oracle: &mut Oracle<'_>,
    theta: &[f64],
    phase: &'static str,
    step: usize,
) -> Result<(f64, Vec<f64>)> {
    let (f, g) = oracle(theta)?;
    if !f.is_finite() {
        return Err(PinnError::NonFiniteLoss {
            phase,
            step,
            what: "loss",
        });
    }
    if g.iter().any(|v| !v.is_finite()) {
        return Err(PinnError::NonFiniteLoss {
            phase,
            step,
            what: "gradient",
        });
    }
    Ok((f, g))
}

fn round_to(values: &mut [f64], f32_params: bool) {
    if f32_params {
        for v in values {
            *v = *v as f32 as f64;
        }
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Adam settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamSettings {
    /// Steps.
    pub steps: usize,
    /// Learning rate.
    pub lr: f64,
    /// Multiply the learning rate by this every 1000 steps (1: constant).
    pub decay_per_1000: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard (PyTorch's 1e-8, not burn-optim's 1e-5).
    pub eps: f64,
    /// Stop when `max |grad| <=` this.
    pub gradient_tolerance: f64,
}

/// Adam (Kingma & Ba) on `theta` in place. `f32_params` keeps parameters representable in f32.
/// `hook(step, theta)` runs before every step (loss balancing, resampling, a target check) and
/// may change the oracle's state; it returns `true` to stop with [`StopReason::TargetReached`].
/// `on_step` reports progress.
pub fn adam(
    theta: &mut [f64],
    oracle: &mut Oracle<'_>,
    s: &AdamSettings,
    f32_params: bool,
    hook: &mut dyn FnMut(usize, &[f64]) -> Result<bool>,
    on_step: &mut dyn FnMut(usize, f64),
) -> Result<PhaseOutcome> {
    let n = theta.len();
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    let mut history = Vec::with_capacity(s.steps);
    let mut stop = if s.steps == 0 {
        StopReason::Skipped
    } else {
        StopReason::MaxIterations
    };
    let mut steps = 0;
    for step in 0..s.steps {
        if hook(step, theta)? {
            stop = StopReason::TargetReached;
            break;
        }
        let (f, g) = checked(oracle, theta, "adam", step)?;
        history.push(f);
        on_step(step, f);
        if max_abs(&g) <= s.gradient_tolerance {
            stop = StopReason::GradientTolerance;
            break;
        }
        let lr = s.lr * s.decay_per_1000.powf(step as f64 / 1000.0);
        let t = (step + 1) as i32;
        let (c1, c2) = (1.0 - s.beta1.powi(t), 1.0 - s.beta2.powi(t));
        for i in 0..n {
            m[i] = s.beta1 * m[i] + (1.0 - s.beta1) * g[i];
            v[i] = s.beta2 * v[i] + (1.0 - s.beta2) * g[i] * g[i];
            theta[i] -= lr * (m[i] / c1) / ((v[i] / c2).sqrt() + s.eps);
        }
        round_to(theta, f32_params);
        steps = step + 1;
    }
    let (final_loss, _) = checked(oracle, theta, "adam", steps)?;
    Ok(PhaseOutcome {
        steps,
        evaluations: steps + 1,
        stop_reason: stop,
        final_loss,
        history,
    })
}

/// L-BFGS settings (PyTorch's names and meanings).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LbfgsSettings {
    /// Iterations.
    pub max_iter: usize,
    /// Function evaluations (line-search trials included).
    pub max_eval: usize,
    /// Pairs `(s, y)` kept.
    pub history: usize,
    /// Stop when `max |grad| <=` this.
    pub tolerance_grad: f64,
    /// Stop when the loss or the step changes by less than this.
    pub tolerance_change: f64,
    /// Stop (after a completed iteration) once this instant has passed.
    #[serde(skip)]
    pub deadline: Option<std::time::Instant>,
}

#[derive(Clone)]
struct Sample {
    t: f64,
    f: f64,
    g: Vec<f64>,
    gtd: f64,
}

fn cubic_interpolate(
    (x1, f1, g1): (f64, f64, f64),
    (x2, f2, g2): (f64, f64, f64),
    bounds: Option<(f64, f64)>,
) -> f64 {
    let (lo, hi) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        let pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        pos.max(lo).min(hi)
    } else {
        (lo + hi) / 2.0
    }
}

/// Evaluates the objective at step `t` along `d`.
fn probe(
    eval: &mut dyn FnMut(f64) -> Result<(f64, Vec<f64>)>,
    d: &[f64],
    t: f64,
) -> Result<Sample> {
    let (f, g) = eval(t)?;
    let gtd = dot(&g, d);
    Ok(Sample { t, f, g, gtd })
}

/// Strong-Wolfe line search along `d` from `x` (Nocedal & Wright Alg. 3.5/3.6, as in PyTorch).
/// Returns the accepted sample and the number of evaluations.
#[allow(clippy::too_many_arguments)]
fn strong_wolfe(
    eval: &mut dyn FnMut(f64) -> Result<(f64, Vec<f64>)>,
    d: &[f64],
    mut t: f64,
    f: f64,
    g: &[f64],
    gtd: f64,
    tolerance_change: f64,
    max_ls: usize,
) -> Result<(Sample, usize)> {
    let (c1, c2) = (1e-4, 0.9);
    let d_norm = max_abs(d);
    let mut cur = probe(eval, d, t)?;
    let mut evals = 1;
    let mut prev = Sample {
        t: 0.0,
        f,
        g: g.to_vec(),
        gtd,
    };
    let mut ls_iter = 0;
    let mut b = loop {
        if ls_iter >= max_ls {
            // Budget used up while still extrapolating: take the last trial.
            return Ok((cur, evals));
        }
        if cur.f > f + c1 * cur.t * gtd || (ls_iter > 1 && cur.f >= prev.f) {
            break [prev, cur];
        }
        if cur.gtd.abs() <= -c2 * gtd {
            return Ok((cur, evals));
        }
        if cur.gtd >= 0.0 {
            break [prev, cur];
        }
        let t_next = cubic_interpolate(
            (prev.t, prev.f, prev.gtd),
            (cur.t, cur.f, cur.gtd),
            Some((cur.t + 0.01 * (cur.t - prev.t), cur.t * 10.0)),
        );
        prev = cur;
        cur = probe(eval, d, t_next)?;
        evals += 1;
        ls_iter += 1;
    };
    let mut insufficient = false;
    let (mut lo, mut hi) = if b[0].f <= b[1].f { (0, 1) } else { (1, 0) };
    while ls_iter < max_ls {
        if (b[1].t - b[0].t).abs() * d_norm < tolerance_change {
            break;
        }
        t = cubic_interpolate((b[0].t, b[0].f, b[0].gtd), (b[1].t, b[1].f, b[1].gtd), None);
        let (bmin, bmax) = (b[0].t.min(b[1].t), b[0].t.max(b[1].t));
        let eps = 0.1 * (bmax - bmin);
        if (bmax - t).min(t - bmin) < eps {
            if insufficient || t >= bmax || t <= bmin {
                t = if (t - bmax).abs() < (t - bmin).abs() {
                    bmax - eps
                } else {
                    bmin + eps
                };
                insufficient = false;
            } else {
                insufficient = true;
            }
        } else {
            insufficient = false;
        }
        let trial = probe(eval, d, t)?;
        evals += 1;
        ls_iter += 1;
        if trial.f > f + c1 * t * gtd || trial.f >= b[lo].f {
            b[hi] = trial;
        } else {
            if trial.gtd.abs() <= -c2 * gtd {
                return Ok((trial, evals));
            }
            if trial.gtd * (b[hi].t - b[lo].t) >= 0.0 {
                b[hi] = b[lo].clone();
            }
            b[lo] = trial;
        }
        (lo, hi) = if b[0].f <= b[1].f { (0, 1) } else { (1, 0) };
    }
    let [b0, b1] = b;
    Ok((if lo == 0 { b0 } else { b1 }, evals))
}

/// The L-BFGS direction `-H grad` by the two-loop recursion over the stored pairs `(s, y)`
/// (oldest first), with the initial Hessian scaled by `s'y / y'y` of the newest pair.
fn two_loop_direction(grad: &[f64], hs: &[Vec<f64>], hy: &[Vec<f64>]) -> Vec<f64> {
    let k = hs.len();
    let mut q: Vec<f64> = grad.iter().map(|g| -g).collect();
    let mut alpha = vec![0.0; k];
    let rho: Vec<f64> = (0..k).map(|i| 1.0 / dot(&hy[i], &hs[i])).collect();
    for i in (0..k).rev() {
        alpha[i] = rho[i] * dot(&hs[i], &q);
        for (qj, yj) in q.iter_mut().zip(&hy[i]) {
            *qj -= alpha[i] * yj;
        }
    }
    if k > 0 {
        let gamma = dot(&hs[k - 1], &hy[k - 1]) / dot(&hy[k - 1], &hy[k - 1]);
        for qj in q.iter_mut() {
            *qj *= gamma;
        }
    }
    for i in 0..k {
        let beta = rho[i] * dot(&hy[i], &q);
        for (qj, sj) in q.iter_mut().zip(&hs[i]) {
            *qj += sj * (alpha[i] - beta);
        }
    }
    q
}

/// L-BFGS with strong-Wolfe line search on `theta` in place.
pub fn lbfgs(
    theta: &mut [f64],
    oracle: &mut Oracle<'_>,
    s: &LbfgsSettings,
    f32_params: bool,
    on_step: &mut dyn FnMut(usize, f64),
) -> Result<PhaseOutcome> {
    let (loss, grad) = checked(oracle, theta, "lbfgs", 0)?;
    let mut run = Lbfgs {
        s,
        f32_params,
        loss,
        grad,
        evals: 1,
        history: Vec::new(),
        hs: Vec::new(),
        hy: Vec::new(),
        prev_grad: None,
        prev_step: None,
    };
    if s.max_iter == 0 {
        return Ok(run.finish(0, StopReason::Skipped));
    }
    if max_abs(&run.grad) <= s.tolerance_grad {
        return Ok(run.finish(0, StopReason::GradientTolerance));
    }
    for iter in 0..s.max_iter {
        if let Some((steps, stop)) = run.iteration(iter, theta, oracle, on_step)? {
            return Ok(run.finish(steps, stop));
        }
    }
    Ok(run.finish(s.max_iter, StopReason::MaxIterations))
}

/// The state of one L-BFGS phase between iterations.
struct Lbfgs<'s> {
    s: &'s LbfgsSettings,
    f32_params: bool,
    /// Loss and gradient at the current parameters.
    loss: f64,
    grad: Vec<f64>,
    /// Evaluations so far (line-search trials included).
    evals: usize,
    /// Loss after each completed iteration.
    history: Vec<f64>,
    /// The stored curvature pairs `(s, y)`, oldest first.
    hs: Vec<Vec<f64>>,
    hy: Vec<Vec<f64>>,
    /// Gradient and step of the previous iteration, for the next pair.
    prev_grad: Option<Vec<f64>>,
    prev_step: Option<Vec<f64>>,
}

impl Lbfgs<'_> {
    /// One iteration: direction, line search, step, stopping tests. Returns the completed
    /// step count and the reason when the phase ends here.
    fn iteration(
        &mut self,
        iter: usize,
        theta: &mut [f64],
        oracle: &mut Oracle<'_>,
        on_step: &mut dyn FnMut(usize, f64),
    ) -> Result<Option<(usize, StopReason)>> {
        let d = self.direction(iter);
        self.prev_grad = Some(self.grad.clone());
        let prev_loss = self.loss;
        let gtd = dot(&self.grad, &d);
        if gtd > -self.s.tolerance_change {
            return Ok(Some((iter, StopReason::ChangeTolerance)));
        }
        let base = theta.to_vec();
        let sample = self.line_search(iter, oracle, &base, &d, gtd)?;
        if sample.f >= self.loss {
            // No decrease anywhere on the bracket: keep the current point.
            return Ok(Some((iter, StopReason::LineSearchFailure)));
        }
        self.take_step(iter, theta, &base, &d, sample, on_step);
        Ok(self.stop_after_step(prev_loss).map(|stop| (iter + 1, stop)))
    }

    /// The search direction: steepest descent on the first iteration, afterwards the two-loop
    /// direction over the pairs, updated with the last step first.
    fn direction(&mut self, iter: usize) -> Vec<f64> {
        if iter == 0 {
            return self.grad.iter().map(|g| -g).collect();
        }
        self.remember_pair();
        two_loop_direction(&self.grad, &self.hs, &self.hy)
    }

    /// Stores the last step's pair `(s, y)` when it has positive curvature (`y's > 1e-10`),
    /// dropping the oldest pair beyond `history`.
    fn remember_pair(&mut self) {
        if let (Some(pg), Some(st)) = (&self.prev_grad, &self.prev_step) {
            let y: Vec<f64> = self.grad.iter().zip(pg).map(|(a, b)| a - b).collect();
            let ys = dot(&y, st);
            if ys > 1e-10 {
                if self.hs.len() == self.s.history {
                    self.hs.remove(0);
                    self.hy.remove(0);
                }
                self.hs.push(st.clone());
                self.hy.push(y);
            }
        }
    }

    /// Strong-Wolfe line search from `base` along `d` within the remaining evaluation budget;
    /// the first iteration starts from `t = min(1, 1 / |grad|_1)`, later ones from `t = 1`.
    fn line_search(
        &mut self,
        iter: usize,
        oracle: &mut Oracle<'_>,
        base: &[f64],
        d: &[f64],
        gtd: f64,
    ) -> Result<Sample> {
        let t = if iter == 0 {
            (1.0 / self.grad.iter().map(|g| g.abs()).sum::<f64>()).min(1.0)
        } else {
            1.0
        };
        let f32_params = self.f32_params;
        let mut trial = vec![0.0; base.len()];
        let budget = self.s.max_eval.saturating_sub(self.evals).max(1);
        let mut eval = |step: f64| -> Result<(f64, Vec<f64>)> {
            for i in 0..base.len() {
                trial[i] = base[i] + step * d[i];
            }
            round_to(&mut trial, f32_params);
            checked(oracle, &trial, "lbfgs", iter)
        };
        let (sample, used) = strong_wolfe(
            &mut eval,
            d,
            t,
            self.loss,
            &self.grad,
            gtd,
            self.s.tolerance_change,
            budget,
        )?;
        self.evals += used;
        Ok(sample)
    }

    /// Moves `theta` to the accepted sample (rounded to f32 when the parameters are f32) and
    /// records the step, the loss and the gradient there.
    fn take_step(
        &mut self,
        iter: usize,
        theta: &mut [f64],
        base: &[f64],
        d: &[f64],
        sample: Sample,
        on_step: &mut dyn FnMut(usize, f64),
    ) {
        let t = sample.t;
        for i in 0..theta.len() {
            theta[i] = base[i] + t * d[i];
        }
        round_to(theta, self.f32_params);
        self.prev_step = Some(theta.iter().zip(base).map(|(a, b)| a - b).collect());
        self.loss = sample.f;
        self.grad = sample.g;
        self.history.push(self.loss);
        on_step(iter, self.loss);
    }

    /// The stopping tests after a completed iteration, in order: evaluation budget, gradient
    /// tolerance, change tolerance (step or loss), deadline.
    fn stop_after_step(&self, prev_loss: f64) -> Option<StopReason> {
        let s = self.s;
        if self.evals >= s.max_eval {
            Some(StopReason::MaxEvaluations)
        } else if max_abs(&self.grad) <= s.tolerance_grad {
            Some(StopReason::GradientTolerance)
        } else if max_abs(self.prev_step.as_deref().unwrap_or(&[])) <= s.tolerance_change
            || (self.loss - prev_loss).abs() < s.tolerance_change
        {
            Some(StopReason::ChangeTolerance)
        } else if s.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            Some(StopReason::TimeLimit)
        } else {
            None
        }
    }

    /// The phase's outcome after `steps` completed iterations.
    fn finish(self, steps: usize, stop_reason: StopReason) -> PhaseOutcome {
        PhaseOutcome {
            steps,
            evaluations: self.evals,
            stop_reason,
            final_loss: self.loss,
            history: self.history,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64]) -> Result<(f64, Vec<f64>)> {
        let (a, b) = (x[0], x[1]);
        let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
        let g = vec![
            -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
            200.0 * (b - a * a),
        ];
        Ok((f, g))
    }

    #[test]
    fn lbfgs_solves_rosenbrock_and_says_why_it_stopped() {
        let mut x = vec![-1.2, 1.0];
        let s = LbfgsSettings {
            max_iter: 200,
            max_eval: 500,
            history: 10,
            tolerance_grad: 1e-10,
            tolerance_change: 1e-14,
            deadline: None,
        };
        let out = lbfgs(&mut x, &mut rosenbrock, &s, false, &mut |_, _| {}).unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6,
            "{x:?}"
        );
        assert!(matches!(
            out.stop_reason,
            StopReason::GradientTolerance | StopReason::ChangeTolerance
        ));
        assert!(out.steps < 100);
        // Monotone: strong Wolfe accepts only decreasing steps.
        assert!(out.history.windows(2).all(|w| w[1] <= w[0]));
    }

    #[test]
    fn lbfgs_hits_the_iteration_budget() {
        let mut x = vec![-1.2, 1.0];
        let s = LbfgsSettings {
            max_iter: 3,
            max_eval: 100,
            history: 10,
            tolerance_grad: 0.0,
            tolerance_change: 0.0,
            deadline: None,
        };
        let out = lbfgs(&mut x, &mut rosenbrock, &s, false, &mut |_, _| {}).unwrap();
        assert_eq!(out.stop_reason, StopReason::MaxIterations);
        assert_eq!(out.steps, 3);
        // A deadline already past stops after the first completed iteration.
        let mut x = vec![-1.2, 1.0];
        let s = LbfgsSettings {
            max_iter: 50,
            deadline: Some(std::time::Instant::now()),
            ..s
        };
        let out = lbfgs(&mut x, &mut rosenbrock, &s, false, &mut |_, _| {}).unwrap();
        assert_eq!(out.stop_reason, StopReason::TimeLimit);
        assert_eq!(out.steps, 1);
    }

    #[test]
    fn non_finite_loss_is_a_typed_error_naming_the_step() {
        let mut calls = 0;
        let mut oracle = |x: &[f64]| -> Result<(f64, Vec<f64>)> {
            calls += 1;
            let f = if calls > 5 { f64::NAN } else { x[0] * x[0] };
            Ok((f, vec![2.0 * x[0]]))
        };
        let mut x = vec![3.0];
        let s = AdamSettings {
            steps: 100,
            lr: 0.1,
            decay_per_1000: 1.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            gradient_tolerance: 0.0,
        };
        let err = adam(
            &mut x,
            &mut oracle,
            &s,
            false,
            &mut |_, _| Ok(false),
            &mut |_, _| {},
        )
        .unwrap_err();
        match err {
            PinnError::NonFiniteLoss { phase, step, what } => {
                assert_eq!((phase, step, what), ("adam", 5, "loss"));
            }
            e => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn adam_minimizes_a_quadratic() {
        let mut x = vec![3.0, -2.0];
        let mut q = |x: &[f64]| -> Result<(f64, Vec<f64>)> {
            Ok((
                x[0] * x[0] + 10.0 * x[1] * x[1],
                vec![2.0 * x[0], 20.0 * x[1]],
            ))
        };
        let s = AdamSettings {
            steps: 2000,
            lr: 0.05,
            decay_per_1000: 0.5,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            gradient_tolerance: 1e-9,
        };
        let out = adam(
            &mut x,
            &mut q,
            &s,
            false,
            &mut |_, _| Ok(false),
            &mut |_, _| {},
        )
        .unwrap();
        assert!(out.final_loss < 1e-6, "{}", out.final_loss);
    }
}
