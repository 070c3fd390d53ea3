//! The composition audit: recompute a training plan's (epsilon, delta) and, when the claim
//! does not hold, name the usual accounting mistakes that reproduce it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::accountant::{AccountantKind, epsilon};
use crate::errors::{PrivacyError, Result};
use crate::event::{BatchSampling, DpEvent, Ledger, check_delta, check_sigma};

/// How batches were drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Each example independently with probability batch_size / dataset_size (Opacus,
    /// dp_accounting's analysis).
    Poisson,
    /// Shuffle once per epoch and cut into fixed batches (what most data loaders do). Each
    /// example is in exactly one batch per epoch, so without a shuffling analysis the sound
    /// bound is one unamplified Gaussian release per epoch.
    Shuffle,
    /// Every step draws an independent batch of exactly `batch_size` distinct examples
    /// (replace-one neighbours; accounted by RDP, Wang-Balle-Kasiviswanathan 2019).
    WithoutReplacement,
    /// Every step draws `batch_size` examples independently with replacement (replace-one
    /// neighbours; kiln's coarse RDP bound).
    WithReplacement,
}

impl Sampling {
    /// Whether steps use fixed-size batches (replace-one accounting, RDP only).
    pub fn is_fixed_size(self) -> bool {
        matches!(
            self,
            Sampling::WithoutReplacement | Sampling::WithReplacement
        )
    }
}

/// A DP-SGD training plan and the privacy claimed for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingPlan {
    /// Number of training examples.
    pub dataset_size: u64,
    /// Expected (Poisson) or fixed (shuffle) batch size.
    pub batch_size: u64,
    /// Epochs; steps = epochs * ceil(dataset_size / batch_size) unless `steps` is given.
    #[serde(default)]
    pub epochs: Option<f64>,
    /// Total optimizer steps (overrides `epochs`).
    #[serde(default)]
    pub steps: Option<u64>,
    /// Noise multiplier sigma (noise std / clipping norm).
    pub noise_multiplier: f64,
    /// How batches were drawn.
    pub sampling: Sampling,
    /// Target delta.
    pub delta: f64,
    /// Epsilon the plan claims.
    pub claimed_epsilon: f64,
    /// Accountant the plan says it used (default rdp).
    #[serde(default = "default_accountant")]
    pub accounted_with: AccountantKind,
}

fn default_accountant() -> AccountantKind {
    AccountantKind::Rdp
}

/// A checked [`TrainingPlan`]: only [`TrainingPlan::check`] (or the readers, which check)
/// makes one. It reads like the plan (`Deref`) and adds the derived quantities.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidTrainingPlan(TrainingPlan);

impl std::ops::Deref for ValidTrainingPlan {
    type Target = TrainingPlan;
    fn deref(&self) -> &TrainingPlan {
        &self.0
    }
}

impl TrainingPlan {
    /// Reads and checks a plan from JSON text.
    pub fn from_json(text: &str) -> Result<ValidTrainingPlan> {
        let plan: TrainingPlan = kiln_core::io::parse_json(text, Path::new("<plan>"))?;
        plan.check()
    }

    /// Reads and checks a plan file.
    pub fn load(path: &Path) -> Result<ValidTrainingPlan> {
        let plan: TrainingPlan = kiln_core::io::read_json(path)?;
        plan.check()
    }

    /// Validates the numbers and returns the checked plan.
    pub fn check(&self) -> Result<ValidTrainingPlan> {
        self.check_fields()?;
        Ok(ValidTrainingPlan(self.clone()))
    }

    fn check_fields(&self) -> Result<()> {
        if self.dataset_size == 0 {
            return Err(PrivacyError::invalid("dataset_size", 0, "must be >= 1"));
        }
        if self.batch_size == 0 || self.batch_size > self.dataset_size {
            return Err(PrivacyError::invalid(
                "batch_size",
                self.batch_size,
                "must be in [1, dataset_size]",
            ));
        }
        check_sigma(self.noise_multiplier)?;
        check_delta(self.delta)?;
        if !(self.claimed_epsilon.is_finite() && self.claimed_epsilon >= 0.0) {
            return Err(PrivacyError::invalid(
                "claimed_epsilon",
                self.claimed_epsilon,
                "must be finite and >= 0",
            ));
        }
        match (self.steps, self.epochs) {
            (Some(0), _) => Err(PrivacyError::invalid("steps", 0, "must be >= 1")),
            (Some(_), _) => Ok(()),
            (None, Some(e)) if e.is_finite() && e > 0.0 => Ok(()),
            (None, Some(e)) => Err(PrivacyError::invalid("epochs", e, "must be finite and > 0")),
            (None, None) => Err(PrivacyError::invalid(
                "steps",
                "missing",
                "give `steps` or `epochs`",
            )),
        }
    }
}

impl ValidTrainingPlan {
    /// Sampling rate q = batch / dataset.
    pub fn sampling_rate(&self) -> f64 {
        self.batch_size as f64 / self.dataset_size as f64
    }

    /// Steps per epoch.
    pub fn steps_per_epoch(&self) -> u64 {
        self.dataset_size.div_ceil(self.batch_size)
    }

    /// Total steps.
    pub fn total_steps(&self) -> u64 {
        self.steps.unwrap_or_else(|| {
            (self.epochs.unwrap_or(1.0) * self.steps_per_epoch() as f64).ceil() as u64
        })
    }

    /// Epochs (derived from steps when not given).
    pub fn total_epochs(&self) -> f64 {
        self.total_steps() as f64 / self.steps_per_epoch() as f64
    }

    /// The per-step event of a fixed-size plan (`None` for Poisson or shuffling).
    pub fn fixed_size_event(&self) -> Result<Option<DpEvent>> {
        let (n, m, s) = (self.dataset_size, self.batch_size, self.noise_multiplier);
        Ok(match self.sampling {
            Sampling::WithoutReplacement => Some(DpEvent::sampled_without_replacement(n, m, s)?),
            Sampling::WithReplacement => Some(DpEvent::sampled_with_replacement(n, m, s)?),
            Sampling::Poisson | Sampling::Shuffle => None,
        })
    }

    /// The ledger a correct analysis composes.
    pub fn correct_ledger(&self) -> Result<Ledger> {
        let (n, m, s) = (self.dataset_size, self.batch_size, self.noise_multiplier);
        match self.sampling {
            Sampling::Poisson => Ledger::steps(
                &BatchSampling::poisson(self.sampling_rate()),
                self.noise_multiplier,
                self.total_steps(),
            ),
            Sampling::Shuffle => {
                // One full-participation Gaussian release per (possibly partial) epoch.
                let epochs = self.total_epochs().ceil() as u64;
                Ledger::single(DpEvent::gaussian(self.noise_multiplier)?, epochs.max(1))
            }
            Sampling::WithoutReplacement => Ledger::single(
                DpEvent::sampled_without_replacement(n, m, s)?,
                self.total_steps(),
            ),
            Sampling::WithReplacement => Ledger::single(
                DpEvent::sampled_with_replacement(n, m, s)?,
                self.total_steps(),
            ),
        }
    }
}

/// One candidate mistake and the epsilon it produces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mistake {
    /// Short identifier.
    pub name: String,
    /// What the mistake is.
    pub description: String,
    /// Epsilon the mistaken accounting gives.
    pub epsilon: f64,
    /// Whether it reproduces the claim within 5%.
    pub matches_claim: bool,
}

/// The audit's findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    /// Sampling rate used.
    pub sampling_rate: f64,
    /// Steps composed.
    pub steps: u64,
    /// Correct epsilon at the plan's delta: PLD (pessimistic), or RDP for fixed-size
    /// sampling (the only kiln accountant for it).
    pub recomputed_epsilon: f64,
    /// The accountant that gave `recomputed_epsilon`.
    pub recomputed_with: AccountantKind,
    /// Correct epsilon with the RDP accountant (looser), for reference.
    pub recomputed_epsilon_rdp: f64,
    /// The claim.
    pub claimed_epsilon: f64,
    /// `recomputed / claimed` (> 1: the claim under-reports).
    pub factor: f64,
    /// Whether the claim holds (claimed >= recomputed within 0.1%).
    pub claim_holds: bool,
    /// Short verdict sentence.
    pub verdict: String,
    /// Candidate mistakes, those matching the claim first.
    pub mistakes: Vec<Mistake>,
}

/// Audits a checked plan.
pub fn audit(plan: &ValidTrainingPlan) -> Result<AuditReport> {
    let delta = plan.delta;
    let correct = plan.correct_ledger()?;
    let fixed = plan.fixed_size_event()?;
    let recomputed_with = if fixed.is_some() {
        AccountantKind::Rdp
    } else {
        AccountantKind::Pld
    };
    let recomputed = epsilon(recomputed_with, &correct, delta)?;
    let recomputed_rdp = epsilon(AccountantKind::Rdp, &correct, delta)?;
    // The "truth" is the tightest sound answer we have; the claimed accountant may be looser.
    let claimed = plan.claimed_epsilon;
    let factor = if claimed > 0.0 {
        recomputed / claimed
    } else {
        f64::INFINITY
    };
    let mut report = AuditReport {
        sampling_rate: plan.sampling_rate(),
        steps: plan.total_steps(),
        recomputed_epsilon: recomputed,
        recomputed_with,
        recomputed_epsilon_rdp: recomputed_rdp,
        claimed_epsilon: claimed,
        factor,
        claim_holds: claimed >= recomputed * (1.0 - 1e-3),
        verdict: String::new(),
        mistakes: candidate_mistakes(plan, fixed)?,
    };
    report.verdict = report.verdict_sentence(delta);
    Ok(report)
}

impl AuditReport {
    /// The verdict: the claim holds, or by how much it under-reports and which candidate
    /// mistakes reproduce it.
    fn verdict_sentence(&self, delta: f64) -> String {
        let (recomputed, claimed) = (self.recomputed_epsilon, self.claimed_epsilon);
        if self.claim_holds {
            return format!(
                "claim holds: epsilon {recomputed:.4} <= claimed {claimed:.4} at delta {delta:e}"
            );
        }
        let named: Vec<&str> = self
            .mistakes
            .iter()
            .filter(|m| m.matches_claim)
            .map(|m| m.name.as_str())
            .collect();
        format!(
            "claim does NOT hold: true epsilon {recomputed:.4} is {:.2}x the claimed {claimed:.4}{}",
            self.factor,
            if named.is_empty() {
                String::new()
            } else {
                format!("; the claim is reproduced by: {}", named.join(", "))
            }
        )
    }
}

/// The candidate mistakes that apply to the plan, those matching the claim first, then by
/// closeness to the claim.
fn candidate_mistakes(plan: &ValidTrainingPlan, fixed: Option<DpEvent>) -> Result<Vec<Mistake>> {
    let claimed = plan.claimed_epsilon;
    let mut c = Candidates {
        claimed,
        list: Vec::new(),
    };
    per_epoch_composition(plan, fixed, &mut c)?;
    one_step_epsilon_reported(plan, fixed, &mut c)?;
    q_divided_twice(plan, &mut c)?;
    if plan.sampling == Sampling::Shuffle {
        shuffling_accounted_as_sampling(plan, &mut c)?;
    }
    if plan.sampling.is_fixed_size() {
        fixed_size_accounted_as_poisson(plan, &mut c)?;
    }
    basic_composition_delta_not_split(plan, &mut c)?;
    let mut mistakes = c.list;
    mistakes.sort_by(|a, b| {
        b.matches_claim.cmp(&a.matches_claim).then(
            (a.epsilon / claimed - 1.0)
                .abs()
                .partial_cmp(&(b.epsilon / claimed - 1.0).abs())
                .unwrap_or(std::cmp::Ordering::Equal),
        )
    });
    Ok(mistakes)
}

/// The candidate mistakes found so far, each marked when it reproduces the claim within 5%.
struct Candidates {
    claimed: f64,
    list: Vec<Mistake>,
}

impl Candidates {
    /// Adds a candidate, marked when its epsilon is within 5% of a positive claim.
    fn push(&mut self, name: &str, description: String, eps: f64) {
        let matches_claim = self.claimed > 0.0 && (eps / self.claimed - 1.0).abs() < 0.05;
        self.list.push(Mistake {
            name: name.into(),
            description,
            epsilon: eps,
            matches_claim,
        });
    }
}

/// Epsilon of `steps` Poisson-subsampled Gaussian steps at rate `q` and the plan's sigma and
/// delta, by `accountant`.
fn poisson_epsilon(
    plan: &ValidTrainingPlan,
    accountant: AccountantKind,
    q: f64,
    steps: u64,
) -> Result<f64> {
    let ledger = Ledger::steps(&BatchSampling::poisson(q), plan.noise_multiplier, steps)?;
    epsilon(accountant, &ledger, plan.delta)
}

/// Composed once per epoch instead of once per step (when those differ).
fn per_epoch_composition(
    plan: &ValidTrainingPlan,
    fixed: Option<DpEvent>,
    c: &mut Candidates,
) -> Result<()> {
    let steps = plan.total_steps();
    let epochs = plan.total_epochs().round().max(1.0) as u64;
    if epochs == steps {
        return Ok(());
    }
    let e = match fixed {
        // Only RDP accounts fixed-size events.
        Some(ev) => epsilon(
            AccountantKind::Rdp,
            &Ledger::single(ev, epochs)?,
            plan.delta,
        )?,
        None => poisson_epsilon(plan, plan.accounted_with, plan.sampling_rate(), epochs)?,
    };
    c.push(
        "per_epoch_composition",
        format!(
            "composed {epochs} times (once per epoch) instead of {steps} times (once per step)"
        ),
        e,
    );
    Ok(())
}

/// The seed's "orders of magnitude" mistake: one step's epsilon reported for the run (when
/// the run has more than one step).
fn one_step_epsilon_reported(
    plan: &ValidTrainingPlan,
    fixed: Option<DpEvent>,
    c: &mut Candidates,
) -> Result<()> {
    let steps = plan.total_steps();
    if steps <= 1 {
        return Ok(());
    }
    // The claim may come from any accountant (a single step's PLD epsilon is far below its
    // RDP one): try the plan's and PLD, keep the one closer to the claim.
    let (one, with) = match fixed {
        Some(ev) => (
            epsilon(AccountantKind::Rdp, &Ledger::single(ev, 1)?, plan.delta)?,
            AccountantKind::Rdp,
        ),
        None => {
            let acc = plan.accounted_with;
            let q = plan.sampling_rate();
            let a = poisson_epsilon(plan, acc, q, 1)?;
            let p = poisson_epsilon(plan, AccountantKind::Pld, q, 1)?;
            let off = |e: f64| (e / c.claimed - 1.0).abs();
            if off(p) < off(a) {
                (p, AccountantKind::Pld)
            } else {
                (a, acc)
            }
        }
    };
    c.push(
        "one_step_epsilon_reported",
        format!("the epsilon of a single step ({with}) was reported for all {steps} steps"),
        one,
    );
    Ok(())
}

/// The sampling rate divided by the dataset size once more (batch / N^2).
fn q_divided_twice(plan: &ValidTrainingPlan, c: &mut Candidates) -> Result<()> {
    let q = plan.sampling_rate();
    let n = plan.dataset_size as f64;
    let e = poisson_epsilon(plan, plan.accounted_with, q / n, plan.total_steps())?;
    c.push(
        "q_divided_twice",
        format!(
            "sampling rate {:.3e} (batch / N^2) instead of {q:.3e} (batch / N)",
            q / n
        ),
        e,
    );
    Ok(())
}

/// Shuffled batches accounted with the amplification of Poisson sampling, or of independent
/// sampling without replacement.
fn shuffling_accounted_as_sampling(plan: &ValidTrainingPlan, c: &mut Candidates) -> Result<()> {
    let steps = plan.total_steps();
    let e = poisson_epsilon(plan, plan.accounted_with, plan.sampling_rate(), steps)?;
    c.push(
        "shuffling_accounted_as_poisson",
        "batches were shuffled, but privacy amplification by Poisson subsampling was claimed"
            .into(),
        e,
    );
    let wor = DpEvent::sampled_without_replacement(
        plan.dataset_size,
        plan.batch_size,
        plan.noise_multiplier,
    )?;
    let e = epsilon(
        AccountantKind::Rdp,
        &Ledger::single(wor, steps)?,
        plan.delta,
    )?;
    c.push(
        "shuffling_accounted_as_sampling_without_replacement",
        "batches were cut from one shuffle per epoch (disjoint, not independent), but \
         amplification by independent fixed-size sampling without replacement was claimed"
            .into(),
        e,
    );
    Ok(())
}

/// Fixed-size batches accounted as Poisson sampling at the same rate.
fn fixed_size_accounted_as_poisson(plan: &ValidTrainingPlan, c: &mut Candidates) -> Result<()> {
    let e = poisson_epsilon(
        plan,
        plan.accounted_with,
        plan.sampling_rate(),
        plan.total_steps(),
    )?;
    c.push(
        "fixed_size_accounted_as_poisson",
        "fixed-size batches were accounted as Poisson sampling at q = batch / N (a different \
         sampling scheme and neighbouring relation)"
            .into(),
        e,
    );
    Ok(())
}

/// Basic composition with the per-step delta left at the total delta (the deltas of the
/// steps add up, so this claims k times too little delta).
fn basic_composition_delta_not_split(plan: &ValidTrainingPlan, c: &mut Candidates) -> Result<()> {
    // kiln has no exact single-release curve of fixed-size sampling, so this candidate uses
    // the Poisson step at the same q for every plan (as such a claim usually does).
    let step = BatchSampling::poisson(plan.sampling_rate()).event(plan.noise_multiplier)?;
    let e1 = crate::composition::single_release_epsilon(&step, plan.delta)?;
    let steps = plan.total_steps();
    let delta = plan.delta;
    c.push(
        "basic_composition_delta_not_split",
        format!(
            "basic composition of {steps} steps, each at the full delta {delta:e} (the deltas add up)"
        ),
        e1 * steps as f64,
    );
    Ok(())
}
