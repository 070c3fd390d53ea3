//! Calibration: the smallest noise multiplier, the largest sampling rate (or fixed batch size)
//! or the most steps that meet a target (epsilon, delta), by one bracket-and-bisect search over
//! a monotone parameter.
//!
//! Epsilon is monotone in each unknown (decreasing in sigma, increasing in q, in the batch size
//! and in the number of steps), so bisection converges; the answer is always the end of the
//! final bracket that meets the target, so it is on the safe side. A continuous unknown is
//! bisected geometrically until the bracket's relative width is below the tolerance; an integer
//! one (steps, batch size) exactly.
//!
//! ```
//! use kiln_privacy::calibrate::{CalibrationParams, Unknown, calibrate};
//! use kiln_privacy::{AccountantKind, BatchSampling};
//! // The noise for epsilon 1 at delta 1e-5 after 10^4 Poisson steps at q = 0.01.
//! let params = CalibrationParams::new(Unknown::NoiseMultiplier)
//!     .accountant(AccountantKind::Rdp)
//!     .sampling(BatchSampling::poisson(0.01))
//!     .steps(10_000)
//!     .target_epsilon(1.0)
//!     .delta(1e-5)
//!     .check()?;
//! let c = calibrate(&params)?;
//! // Abadi et al.'s sigma 4 gives epsilon 1.04 here, so the answer is a little above 4.
//! assert!(c.epsilon <= 1.0 && c.value > 4.0 && c.value < 4.5);
//! # Ok::<(), kiln_privacy::PrivacyError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::accountant::{AccountantKind, epsilon};
use crate::errors::{PrivacyError, Result};
use crate::event::{BatchSampling, DpEvent, Ledger, check_delta, check_sigma};
use crate::hyperparams::{Conversion, RdpParams};
use crate::rdp::{RdpAccountant, epsilon_at_order, rdp_event, round_up};

/// A calibrated value and what it achieves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The value (meets the target): a noise multiplier, a sampling rate, a batch size or a
    /// number of steps.
    pub value: f64,
    /// Epsilon at `value`.
    pub epsilon: f64,
    /// Final bracket, smaller end first (one end meets the target, the other does not; both
    /// ends are `value` when the whole range meets it).
    pub bracket: (f64, f64),
    /// Accountant evaluations used.
    pub evaluations: usize,
}

/// What [`calibrate`] solves for; the other quantities are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unknown {
    /// The smallest noise multiplier (needs `sampling` and `steps`).
    NoiseMultiplier,
    /// The largest sampling rate q in (0, 1] for Poisson sampling, or the largest batch size
    /// in `[1, dataset_size]` for fixed-size sampling (needs `sampling` (its rate or batch
    /// size is the one replaced), `noise_multiplier` and `steps`).
    SamplingRate,
    /// The most steps (needs `sampling` and `noise_multiplier`).
    Steps,
}

/// Unchecked calibration settings (builder; every value named).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationParams {
    unknown: Unknown,
    accountant: AccountantKind,
    sampling: Option<BatchSampling>,
    noise_multiplier: Option<f64>,
    steps: Option<u64>,
    target_epsilon: Option<f64>,
    delta: Option<f64>,
    tolerance: f64,
}

/// Checked calibration settings: only [`CalibrationParams::check`] makes them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CalibrationValidParams(CalibrationParams);

impl CalibrationParams {
    /// Settings to solve for `unknown`: the RDP accountant and a relative tolerance of 1e-4 by
    /// default; the target epsilon, delta and the known quantities have no default.
    pub fn new(unknown: Unknown) -> Self {
        Self {
            unknown,
            accountant: AccountantKind::Rdp,
            sampling: None,
            noise_multiplier: None,
            steps: None,
            target_epsilon: None,
            delta: None,
            tolerance: 1e-4,
        }
    }
    /// Accountant: [`AccountantKind::Rdp`] (default) or [`AccountantKind::Pld`]; the
    /// composition theorems are for comparison and are not calibrated against.
    pub fn accountant(mut self, kind: AccountantKind) -> Self {
        self.accountant = kind;
        self
    }
    /// How every step draws its batch.
    pub fn sampling(mut self, sampling: BatchSampling) -> Self {
        self.sampling = Some(sampling);
        self
    }
    /// Noise multiplier sigma (when it is not the unknown).
    pub fn noise_multiplier(mut self, sigma: f64) -> Self {
        self.noise_multiplier = Some(sigma);
        self
    }
    /// Number of steps (when it is not the unknown).
    pub fn steps(mut self, steps: u64) -> Self {
        self.steps = Some(steps);
        self
    }
    /// Target epsilon (> 0).
    pub fn target_epsilon(mut self, epsilon: f64) -> Self {
        self.target_epsilon = Some(epsilon);
        self
    }
    /// Target delta in (0, 1).
    pub fn delta(mut self, delta: f64) -> Self {
        self.delta = Some(delta);
        self
    }
    /// Relative width of the final bracket of a continuous unknown, in (0, 0.5).
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Validates: the accountant calibrates (RDP or PLD), the target and delta are valid, the
    /// known quantities are given and valid, the unknown is not also given.
    pub fn check(self) -> Result<CalibrationValidParams> {
        if !self.accountant.calibrates() {
            return Err(PrivacyError::Unsupported {
                event: "calibration".into(),
                accountant: self.accountant.name().into(),
                reason: "calibration uses the rdp or pld accountant".into(),
            });
        }
        let eps = self.target_epsilon.ok_or_else(|| {
            PrivacyError::invalid(
                "target_epsilon",
                "missing",
                "set it with .target_epsilon(e)",
            )
        })?;
        if !(eps.is_finite() && eps > 0.0) {
            return Err(PrivacyError::invalid(
                "target_epsilon",
                eps,
                "must be finite and > 0",
            ));
        }
        let delta = self
            .delta
            .ok_or_else(|| PrivacyError::invalid("delta", "missing", "set it with .delta(d)"))?;
        check_delta(delta)?;
        if !(self.tolerance > 0.0 && self.tolerance < 0.5) {
            return Err(PrivacyError::invalid(
                "tolerance",
                self.tolerance,
                "must be in (0, 0.5)",
            ));
        }
        let sampling = self.sampling.ok_or_else(|| {
            PrivacyError::invalid("sampling", "missing", "set it with .sampling(s)")
        })?;
        let (need_sigma, need_steps) = match self.unknown {
            Unknown::NoiseMultiplier => (false, true),
            Unknown::SamplingRate => (true, true),
            Unknown::Steps => (true, false),
        };
        match (need_sigma, self.noise_multiplier) {
            (true, Some(s)) => check_sigma(s)?,
            (true, None) => {
                return Err(PrivacyError::invalid(
                    "noise_multiplier",
                    "missing",
                    "set it with .noise_multiplier(sigma)",
                ));
            }
            (false, Some(s)) => {
                return Err(PrivacyError::invalid(
                    "noise_multiplier",
                    s,
                    "is the unknown; leave it out",
                ));
            }
            (false, None) => {}
        }
        match (need_steps, self.steps) {
            (true, Some(0)) => return Err(PrivacyError::invalid("steps", 0, "must be >= 1")),
            (true, Some(_)) | (false, None) => {}
            (true, None) => {
                return Err(PrivacyError::invalid(
                    "steps",
                    "missing",
                    "set it with .steps(n)",
                ));
            }
            (false, Some(n)) => {
                return Err(PrivacyError::invalid(
                    "steps",
                    n,
                    "is the unknown; leave it out",
                ));
            }
        }
        if self.unknown != Unknown::SamplingRate {
            sampling.check()?;
        } else if let BatchSampling::WithoutReplacement { dataset_size, .. }
        | BatchSampling::WithReplacement { dataset_size, .. } = sampling
        {
            // The batch size is searched; check the scheme with a batch of one.
            with_batch(&sampling, 1).check()?;
            if dataset_size == 0 {
                return Err(PrivacyError::invalid("dataset_size", 0, "must be >= 1"));
            }
        }
        Ok(CalibrationValidParams(self))
    }
}

impl CalibrationValidParams {
    /// The unknown.
    pub fn unknown(&self) -> Unknown {
        self.0.unknown
    }
    /// The accountant.
    pub fn accountant(&self) -> AccountantKind {
        self.0.accountant
    }
    /// The batch sampling scheme.
    pub fn sampling(&self) -> BatchSampling {
        self.0.sampling.unwrap_or(BatchSampling::poisson(1.0))
    }
    /// The target epsilon.
    pub fn target_epsilon(&self) -> f64 {
        self.0.target_epsilon.unwrap_or(f64::NAN)
    }
    /// The target delta.
    pub fn delta(&self) -> f64 {
        self.0.delta.unwrap_or(f64::NAN)
    }
    /// The relative tolerance.
    pub fn tolerance(&self) -> f64 {
        self.0.tolerance
    }
}

/// The scheme with its batch size (fixed-size) replaced.
fn with_batch(sampling: &BatchSampling, m: u64) -> BatchSampling {
    match *sampling {
        BatchSampling::WithoutReplacement { dataset_size, .. } => {
            BatchSampling::WithoutReplacement {
                dataset_size,
                batch_size: m,
            }
        }
        BatchSampling::WithReplacement { dataset_size, .. } => BatchSampling::WithReplacement {
            dataset_size,
            batch_size: m,
        },
        BatchSampling::Poisson { .. } => *sampling,
    }
}

/// Solves for the unknown of `params`.
pub fn calibrate(params: &CalibrationValidParams) -> Result<Calibration> {
    let p = &params.0;
    let (kind, sampling, delta) = (p.accountant, params.sampling(), params.delta());
    let target = params.target_epsilon();
    let mut evals = 0;
    match p.unknown {
        Unknown::NoiseMultiplier => {
            let steps = p.steps.unwrap_or(1);
            if kind == AccountantKind::Rdp {
                return rdp_noise_multiplier(&sampling, steps, delta, target, p.tolerance);
            }
            let found = search(&Space::SIGMA, target, p.tolerance, |s| {
                evals += 1;
                epsilon(kind, &Ledger::steps(&sampling, s, steps)?, delta)
            })?;
            check_sigma(found.ok)?;
            Ok(found.into_calibration(evals))
        }
        Unknown::SamplingRate => {
            let (sigma, steps) = (p.noise_multiplier.unwrap_or(1.0), p.steps.unwrap_or(1));
            let space = match sampling {
                BatchSampling::Poisson { .. } => Space::SAMPLING_RATE,
                BatchSampling::WithoutReplacement { dataset_size, .. }
                | BatchSampling::WithReplacement { dataset_size, .. } => {
                    Space::batch_size(dataset_size)
                }
            };
            let found = search(&space, target, p.tolerance, |x| {
                evals += 1;
                let s = match sampling {
                    BatchSampling::Poisson { .. } => BatchSampling::poisson(x),
                    _ => with_batch(&sampling, x as u64),
                };
                epsilon(kind, &Ledger::steps(&s, sigma, steps)?, delta)
            })?;
            Ok(found.into_calibration(evals))
        }
        Unknown::Steps => {
            let sigma = p.noise_multiplier.unwrap_or(1.0);
            let found = search(&Space::STEPS, target, p.tolerance, |n| {
                evals += 1;
                epsilon(kind, &Ledger::steps(&sampling, sigma, n as u64)?, delta)
            })?;
            Ok(found.into_calibration(evals))
        }
    }
}

/// What to do when the search reaches the end of the range on the side that fails the target
/// and the target still holds there.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AtFailLimit {
    /// The end of the range is the answer (q = 1, batch = dataset size).
    Accept,
    /// The target is not reachable in this sense; the message says why.
    Refuse(&'static str),
}

/// A monotone search space: where to start, its ends, whether it is integer, and which way
/// epsilon moves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Space {
    pub(crate) start: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) integer: bool,
    /// Epsilon decreases as the parameter grows (noise), so the answer is the smallest value
    /// meeting the target; otherwise the largest.
    pub(crate) decreasing: bool,
    pub(crate) at_fail_limit: AtFailLimit,
    /// Message when even the end of the range on the meeting side fails the target.
    pub(crate) unreachable: &'static str,
}

impl Space {
    const SIGMA: Space = Space {
        start: 1.0,
        min: 1e-3,
        max: 1e5,
        integer: false,
        decreasing: true,
        at_fail_limit: AtFailLimit::Refuse(
            "even noise multiplier 1e-3 meets the target epsilon; the target is too loose",
        ),
        unreachable: "no noise multiplier below 1e5 reaches the target epsilon",
    };
    const SAMPLING_RATE: Space = Space {
        start: 1.0,
        min: 1e-9,
        max: 1.0,
        integer: false,
        decreasing: false,
        at_fail_limit: AtFailLimit::Accept,
        unreachable: "no sampling rate above 1e-9 reaches the target epsilon",
    };
    const STEPS: Space = Space {
        start: 1.0,
        min: 1.0,
        max: (1u64 << 40) as f64,
        integer: true,
        decreasing: false,
        at_fail_limit: AtFailLimit::Refuse("more than 2^40 steps meet the target epsilon"),
        unreachable: "a single step already costs more than the target epsilon",
    };
    fn batch_size(dataset_size: u64) -> Space {
        Space {
            start: dataset_size as f64,
            min: 1.0,
            max: dataset_size as f64,
            integer: true,
            decreasing: false,
            at_fail_limit: AtFailLimit::Accept,
            unreachable: "even a batch of one costs more than the target epsilon",
        }
    }
    /// One geometric step from `x` towards larger (`up`) or smaller values, within the range.
    fn step(&self, x: f64, up: bool) -> f64 {
        let y = if up { x * 2.0 } else { x / 2.0 };
        let y = if self.integer { y.floor() } else { y };
        y.clamp(self.min, self.max)
    }
}

/// The end of the final bracket that meets the target, the other end, and epsilon at the first.
pub(crate) struct Found {
    pub(crate) ok: f64,
    pub(crate) fail: Option<f64>,
    pub(crate) eps_ok: f64,
}

impl Found {
    fn into_calibration(self, evaluations: usize) -> Calibration {
        let other = self.fail.unwrap_or(self.ok);
        Calibration {
            value: self.ok,
            epsilon: self.eps_ok,
            bracket: (self.ok.min(other), self.ok.max(other)),
            evaluations,
        }
    }
}

/// The one bracket-and-bisect search of the crate (calibration, delta from epsilon under the
/// composition theorems, a single release's epsilon): brackets the boundary of
/// `eps(x) <= target` by doubling or halving from `space.start`, then bisects (geometrically for
/// a continuous parameter, to relative width `rel_tol`; exactly for an integer one).
pub(crate) fn search(
    space: &Space,
    target: f64,
    rel_tol: f64,
    mut eps: impl FnMut(f64) -> Result<f64>,
) -> Result<Found> {
    // Moving "towards failure" means smaller noise, or larger rate / batch / steps.
    let fail_up = !space.decreasing;
    let fail_limit = if fail_up { space.max } else { space.min };
    let ok_limit = if fail_up { space.min } else { space.max };
    let x = space.start;
    let e = eps(x)?;
    let (mut ok, mut eps_ok, mut fail);
    if e <= target {
        (ok, eps_ok) = (x, e);
        loop {
            if ok == fail_limit {
                return match space.at_fail_limit {
                    AtFailLimit::Accept => Ok(Found {
                        ok,
                        fail: None,
                        eps_ok,
                    }),
                    AtFailLimit::Refuse(m) => {
                        Err(PrivacyError::Unreachable(format!("{m} (target {target})")))
                    }
                };
            }
            let nx = space.step(ok, fail_up);
            let e = eps(nx)?;
            if e > target {
                fail = nx;
                break;
            }
            (ok, eps_ok) = (nx, e);
        }
    } else {
        fail = x;
        loop {
            if fail == ok_limit {
                return Err(PrivacyError::Unreachable(format!(
                    "{} (target {target})",
                    space.unreachable
                )));
            }
            let nx = space.step(fail, !fail_up);
            let e = eps(nx)?;
            if e <= target {
                (ok, eps_ok) = (nx, e);
                break;
            }
            fail = nx;
        }
    }
    loop {
        let (lo, hi) = (ok.min(fail), ok.max(fail));
        let done = if space.integer {
            hi - lo <= 1.0
        } else {
            hi / lo - 1.0 <= rel_tol
        };
        if done {
            break;
        }
        let mid = if space.integer {
            lo + ((hi - lo) / 2.0).floor()
        } else {
            (lo * hi).sqrt()
        };
        let e = eps(mid)?;
        if e <= target {
            (ok, eps_ok) = (mid, e);
        } else {
            fail = mid;
        }
    }
    Ok(Found {
        ok,
        fail: Some(fail),
        eps_ok,
    })
}

/// Orders the local search keeps evaluated on each side of its best order.
const ORDER_MARGIN: usize = 2;

/// Epsilon of `steps` repetitions of `event` at one order, exactly as [`RdpAccountant`]
/// computes it for a one-entry ledger (improved conversion, rounded up).
fn eps_at_order(event: &DpEvent, steps: u64, alpha: f64, delta: f64) -> Result<f64> {
    let (r, _) = rdp_event(event, alpha);
    let total = steps as f64 * r;
    if total.is_nan() {
        return Err(PrivacyError::RdpOrder {
            order: alpha,
            reason: "RDP evaluated to NaN".into(),
        });
    }
    Ok(round_up(
        epsilon_at_order(alpha, total, delta, Conversion::Improved).max(0.0),
    ))
}

/// Local search over the order list for the order minimizing epsilon, starting at
/// `*center`: walks towards smaller epsilon until the best order has `ORDER_MARGIN`
/// evaluated orders on each side. Returns the smallest epsilon seen (an upper bound on the
/// minimum over every order) and moves `*center` to its order.
fn eps_local(
    event: &DpEvent,
    steps: u64,
    orders: &[f64],
    delta: f64,
    center: &mut usize,
) -> Result<f64> {
    let n = orders.len();
    let mut lo = center.saturating_sub(ORDER_MARGIN);
    let mut hi = (*center + ORDER_MARGIN).min(n - 1);
    let mut vals = Vec::with_capacity(2 * ORDER_MARGIN + 1);
    for &a in &orders[lo..=hi] {
        vals.push(eps_at_order(event, steps, a, delta)?);
    }
    loop {
        let (best, &e) = vals
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .expect("at least one order");
        let at = lo + best;
        if at < lo + ORDER_MARGIN && lo > 0 {
            lo -= 1;
            vals.insert(0, eps_at_order(event, steps, orders[lo], delta)?);
        } else if at + ORDER_MARGIN > hi && hi + 1 < n {
            hi += 1;
            vals.push(eps_at_order(event, steps, orders[hi], delta)?);
        } else {
            *center = at;
            return Ok(e);
        }
    }
}

fn rdp_noise_multiplier(
    sampling: &BatchSampling,
    steps: u64,
    delta: f64,
    target: f64,
    rel_tol: f64,
) -> Result<Calibration> {
    let full = RdpAccountant::new(RdpParams::new().check()?);
    let orders = full.orders().to_vec();
    let mut evals = 0;
    let full_eps = |s: f64, evals: &mut usize| -> Result<f64> {
        *evals += 1;
        Ok(full
            .epsilon(&Ledger::steps(sampling, s, steps)?, delta)?
            .epsilon)
    };
    // Start the local search at order 10 (a typical optimum of DP-SGD plans).
    let mut center = orders.iter().position(|&o| o >= 10.0).unwrap_or(0);
    let local = |s: f64| -> Result<f64> {
        evals += 1;
        eps_local(&sampling.event(s)?, steps, &orders, delta, &mut center)
    };
    let searched = search(&Space::SIGMA, target, rel_tol, local);
    if let Ok(Found {
        ok: hi,
        fail: Some(lo),
        ..
    }) = searched
    {
        // hi meets the target with some orders, hence with all; confirm lo fails with all.
        if full_eps(lo, &mut evals)? > target {
            let e_hi = full_eps(hi, &mut evals)?;
            check_sigma(hi)?;
            return Ok(Calibration {
                value: hi,
                epsilon: e_hi,
                bracket: (lo, hi),
                evaluations: evals,
            });
        }
    }
    let found = search(&Space::SIGMA, target, rel_tol, |s| full_eps(s, &mut evals))?;
    check_sigma(found.ok)?;
    Ok(found.into_calibration(evals))
}
