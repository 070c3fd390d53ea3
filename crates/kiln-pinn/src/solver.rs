//! Training a PINN end to end: points, network, the Adam -> L-BFGS schedule, evaluation.

use std::time::Instant;

use kiln_core::{Autodiff, BackendKind, Precision, Progress, device};
use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::PinnValidParams;
use crate::loss::{LossParts, PinnLoss};
use crate::network::Network;
use crate::optim::{AdamSettings, LbfgsSettings, PhaseOutcome, StopReason, adam, lbfgs};
use crate::problem::Problem;
use crate::problems::{ProblemKind, ProblemOptions};

/// What a training run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// The Adam phase.
    pub adam: PhaseOutcome,
    /// The L-BFGS phase.
    pub lbfgs: PhaseOutcome,
    /// Why training ended: the last phase that ran.
    pub stop_reason: StopReason,
    /// Loss at the end.
    pub final_loss: f64,
    /// Wall-clock seconds of training.
    pub seconds: f64,
    /// Collocation points at the end (RAR adds some).
    pub n_collocation: usize,
}

/// A trained network measured against the problem's solution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// `||u_pred - u_ref||_2 / ||u_ref||_2` over the evaluation grid (all components).
    pub l2_relative_error: f64,
    /// Largest absolute error.
    pub max_abs_error: f64,
    /// Evaluation points (row-major).
    pub points: Vec<f64>,
    /// Predictions (row-major, `n x outputs`).
    pub predicted: Vec<f64>,
    /// Reference values.
    pub reference: Vec<f64>,
}

/// A PINN: problem, network, point sets and current parameters.
#[derive(Clone)]
pub struct Pinn {
    loss: PinnLoss,
    theta: Vec<f64>,
    params: PinnValidParams,
}

impl Pinn {
    /// Samples points and initialises the network for `problem`.
    pub fn new(problem: Problem, params: &PinnValidParams, backend: BackendKind) -> Result<Pinn> {
        problem.validate()?;
        let dev = device(backend, Autodiff::On, Precision::F32)?;
        let seed = params.seed();
        let mut net_rng = kiln_core::seed::rng_stream(seed, 1);
        let network = Network::new(
            params.architecture(),
            params.activation(),
            problem.domain.lo(),
            problem.domain.hi(),
            &params.hidden(),
            problem.outputs,
            &mut net_rng,
        );
        let mut theta = network.init(&mut net_rng);
        if params.precision() == Precision::F32 {
            theta.iter_mut().for_each(|v| *v = *v as f32 as f64);
        }
        let mut pts_rng = kiln_core::seed::rng_stream(seed, 2);
        let collocation = params.sampler().sample(
            params.n_collocation(),
            problem.domain.lo(),
            problem.domain.hi(),
            &mut pts_rng,
        )?;
        let conditions = problem
            .conditions
            .iter()
            .map(|c| c.sample(&problem.domain, params.n_boundary(), &mut pts_rng))
            .collect();
        let mut loss = PinnLoss::new(
            problem,
            network,
            params.precision(),
            dev,
            collocation,
            conditions,
        )?;
        loss.set_engine(params.engine())?;
        loss.set_causal(params.causal())?;
        Ok(Pinn {
            loss,
            theta,
            params: params.clone(),
        })
    }

    /// The loss.
    pub fn loss(&self) -> &PinnLoss {
        &self.loss
    }

    /// Current flat parameters.
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// Replaces the parameters (length must match).
    pub fn set_theta(&mut self, theta: Vec<f64>) -> Result<()> {
        if theta.len() != self.theta.len() {
            return Err(kiln_core::KilnError::shape("theta", self.theta.len(), theta.len()).into());
        }
        self.theta = theta;
        Ok(())
    }

    /// Runs Adam then L-BFGS as the parameters say; progress counts iterations of both.
    pub fn train(&mut self, progress: &dyn Progress) -> Result<TrainReport> {
        let p = self.params.clone();
        let f32_params = p.precision() == Precision::F32;
        let start = Instant::now();
        progress.set_length((p.adam_steps() + p.lbfgs_steps()) as u64);
        progress.message("adam");
        let adam_settings = AdamSettings {
            steps: p.adam_steps(),
            lr: p.adam_lr(),
            decay_per_1000: p.adam_decay_per_1000(),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            gradient_tolerance: p.tolerance_grad(),
        };
        let mut rar_rng = kiln_core::seed::rng_stream(p.seed(), 3);
        let mut theta = std::mem::take(&mut self.theta);
        // The hook needs the loss mutably (weights, points) while the oracle reads it, so the
        // two take turns through a RefCell.
        let cell = std::cell::RefCell::new(&mut self.loss);
        let adam_out = {
            let mut oracle = |t: &[f64]| cell.borrow().value_and_grad(t);
            let mut hook = |step: usize, t: &[f64]| -> Result<bool> {
                let mut loss = cell.borrow_mut();
                if p.balance_every() > 0 && step.is_multiple_of(p.balance_every()) {
                    rebalance(&mut loss, t)?;
                }
                if let Some(r) = p.rar()
                    && step > 0
                    && step.is_multiple_of(r.every)
                {
                    refine(&mut loss, t, r, &mut rar_rng)?;
                }
                if let Some(target) = p.target_l2()
                    && step > 0
                    && step.is_multiple_of(target.every)
                {
                    return Ok(l2_error(&loss, t)? <= target.l2);
                }
                Ok(false)
            };
            let mut on_step = |_: usize, _: f64| progress.inc(1);
            adam(
                &mut theta,
                &mut oracle,
                &adam_settings,
                f32_params,
                &mut hook,
                &mut on_step,
            )
        };
        let adam_out = match adam_out {
            Ok(o) => o,
            Err(e) => {
                self.theta = theta;
                return Err(e);
            }
        };
        let target_reached = adam_out.stop_reason == StopReason::TargetReached;
        progress.message("l-bfgs");
        // Causal weights are constants of the gradient, so the weighted loss has no gradient
        // L-BFGS's line search could trust: they shape the Adam phase only.
        cell.borrow_mut().set_causal(None)?;
        // Once the target is reached the run is over: time to target is what was asked.
        let lbfgs_steps = if target_reached { 0 } else { p.lbfgs_steps() };
        let lbfgs_settings = LbfgsSettings {
            max_iter: lbfgs_steps,
            max_eval: lbfgs_steps * 5 / 4 + 1,
            history: p.lbfgs_history(),
            tolerance_grad: p.tolerance_grad(),
            tolerance_change: p.tolerance_change(),
            deadline: p
                .time_limit_s()
                .map(|limit| start + std::time::Duration::from_secs_f64(limit)),
        };
        let lbfgs_out = {
            let loss = cell.borrow();
            let mut oracle = |t: &[f64]| loss.value_and_grad(t);
            let mut on_step = |_: usize, _: f64| progress.inc(1);
            lbfgs(
                &mut theta,
                &mut oracle,
                &lbfgs_settings,
                f32_params,
                &mut on_step,
            )
        };
        self.theta = theta;
        let lbfgs_out = lbfgs_out?;
        let (stop_reason, final_loss) = if lbfgs_out.stop_reason == StopReason::Skipped {
            (adam_out.stop_reason, adam_out.final_loss)
        } else {
            (lbfgs_out.stop_reason, lbfgs_out.final_loss)
        };
        Ok(TrainReport {
            adam: adam_out,
            lbfgs: lbfgs_out,
            stop_reason,
            final_loss,
            seconds: start.elapsed().as_secs_f64(),
            n_collocation: self.loss.collocation_points().len() / self.loss.problem().domain.dim(),
        })
    }

    /// Loss parts at the current parameters.
    pub fn loss_parts(&self) -> Result<LossParts> {
        self.loss.parts(&self.theta)
    }

    /// Measures the current network against the problem's solution.
    pub fn evaluate(&self) -> Result<Evaluation> {
        let (points, reference) = self.loss.problem().evaluation_set();
        let predicted = self.loss.predict(&self.theta, &points)?;
        let (mut num, mut den, mut max_abs) = (0.0, 0.0, 0.0f64);
        for (p, r) in predicted.iter().zip(&reference) {
            num += (p - r) * (p - r);
            den += r * r;
            max_abs = max_abs.max((p - r).abs());
        }
        Ok(Evaluation {
            l2_relative_error: (num / den).sqrt(),
            max_abs_error: max_abs,
            points,
            predicted,
            reference,
        })
    }
}

/// Relative L2 error of the network at `theta` against the problem's reference solution.
fn l2_error(loss: &PinnLoss, theta: &[f64]) -> Result<f64> {
    let (points, reference) = loss.problem().evaluation_set();
    let predicted = loss.predict(theta, &points)?;
    if predicted.len() != reference.len() {
        return Err(
            kiln_core::KilnError::shape("prediction", reference.len(), predicted.len()).into(),
        );
    }
    let (num, den) = predicted
        .iter()
        .zip(&reference)
        .fold((0.0, 0.0), |(n, d), (p, r)| {
            (n + (p - r) * (p - r), d + r * r)
        });
    Ok((num / den).sqrt())
}

/// Learning-rate annealing (Wang, Teng & Perdikaris 2021): weight of term i moves towards
/// `max |grad L_residual| / mean |grad L_i|`, with a moving average of factor 0.9.
fn rebalance(loss: &mut PinnLoss, theta: &[f64]) -> Result<()> {
    let grads = loss.term_gradients(theta)?;
    let max_res = grads[0].iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let mean_abs = |g: &[f64]| g.iter().map(|v| v.abs()).sum::<f64>() / g.len().max(1) as f64;
    let n_cond = loss.weights.conditions.len();
    for i in 0..n_cond {
        let m = mean_abs(&grads[1 + i]);
        if m > 0.0 && max_res.is_finite() {
            let w = &mut loss.weights.conditions[i];
            *w = 0.9 * *w + 0.1 * (max_res / m);
        }
    }
    if grads.len() > 1 + n_cond {
        let m = mean_abs(&grads[1 + n_cond]);
        if m > 0.0 && max_res.is_finite() {
            loss.weights.data = 0.9 * loss.weights.data + 0.1 * (max_res / m);
        }
    }
    Ok(())
}

/// Residual-based adaptive refinement: adds the worst `add` of `candidates` random points.
fn refine(
    loss: &mut PinnLoss,
    theta: &[f64],
    r: crate::hyperparams::RarParams,
    rng: &mut kiln_core::seed::KilnRng,
) -> Result<()> {
    let domain = loss.problem().domain.clone();
    let dim = domain.dim();
    let cand =
        crate::sampling::Sampler::Uniform.sample(r.candidates, domain.lo(), domain.hi(), rng)?;
    let res = loss.residual_at(theta, &cand)?;
    let mut order: Vec<usize> = (0..res.len()).collect();
    order.sort_by(|&a, &b| res[b].total_cmp(&res[a]));
    let mut pts = loss.collocation_points().to_vec();
    for &i in order.iter().take(r.add) {
        pts.extend_from_slice(&cand[i * dim..(i + 1) * dim]);
    }
    loss.set_collocation(pts)
}

/// Result of [`solve`]: training and evaluation together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolveReport {
    /// Problem name.
    pub problem: String,
    /// Training.
    pub train: TrainReport,
    /// Relative L2 error on the evaluation grid.
    pub l2_relative_error: f64,
    /// Largest absolute error on the evaluation grid.
    pub max_abs_error: f64,
}

/// Builds a built-in problem, trains on it and measures the result.
pub fn solve(
    kind: ProblemKind,
    options: &ProblemOptions,
    params: &PinnValidParams,
    backend: BackendKind,
    progress: &dyn Progress,
) -> Result<(SolveReport, Pinn)> {
    let problem = kind.build(options, params.seed())?;
    let mut pinn = Pinn::new(problem, params, backend)?;
    let train = pinn.train(progress)?;
    let eval = pinn.evaluate()?;
    Ok((
        SolveReport {
            problem: kind.name().to_string(),
            train,
            l2_relative_error: eval.l2_relative_error,
            max_abs_error: eval.max_abs_error,
        },
        pinn,
    ))
}
