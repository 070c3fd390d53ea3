//! What a Burn training loop does when a detector signals: typed reactions (reset the
//! optimizer's state, restart the learning-rate schedule, roll back to a checkpoint, retrain on
//! a recent window), applied by an [`Adapter`] that owns the optimizer, the schedule and the
//! checkpoint, and logs every reaction.

use kiln_core::burn::module::Module;
use kiln_core::burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use serde::{Deserialize, Serialize};

use crate::errors::{DriftError, Result};
use crate::signal::Signal;

/// One reaction to a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// Re-initialize the optimizer (Adam's first and second moments forget the old concept).
    ResetOptimizer,
    /// Restart the learning-rate schedule at its base rate.
    RestartSchedule,
    /// Replace the model by the last checkpoint (taken with [`Adapter::checkpoint`]).
    RollBack,
    /// Retrain on the recent window the training loop keeps (from the estimated change point
    /// when it knows one), for this many epochs.
    RetrainRecent {
        /// Passes over the window.
        epochs: usize,
    },
}

/// Which reactions follow a warning and a drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionPolicy {
    on_warning: Vec<Action>,
    on_drift: Vec<Action>,
}

impl Default for ReactionPolicy {
    /// Nothing on a warning; on a drift reset the optimizer, restart the schedule and retrain
    /// on the recent window for 2 epochs.
    fn default() -> Self {
        Self {
            on_warning: Vec::new(),
            on_drift: vec![
                Action::ResetOptimizer,
                Action::RestartSchedule,
                Action::RetrainRecent { epochs: 2 },
            ],
        }
    }
}

impl ReactionPolicy {
    /// No reaction at all (the do-nothing baseline; signals are still logged).
    pub fn none() -> Self {
        Self {
            on_warning: Vec::new(),
            on_drift: Vec::new(),
        }
    }
    /// Reactions to a warning, in order.
    pub fn on_warning(mut self, actions: Vec<Action>) -> Self {
        self.on_warning = actions;
        self
    }
    /// Reactions to a drift, in order.
    pub fn on_drift(mut self, actions: Vec<Action>) -> Self {
        self.on_drift = actions;
        self
    }
    /// Validates: a retrain needs at least one epoch.
    pub fn check(self) -> Result<Self> {
        for a in self.on_warning.iter().chain(&self.on_drift) {
            if let Action::RetrainRecent { epochs: 0 } = a {
                return Err(DriftError::invalid(
                    "epochs",
                    0,
                    "RetrainRecent needs >= 1 epoch",
                ));
            }
        }
        Ok(self)
    }
    fn actions(&self, signal: Signal) -> &[Action] {
        match signal {
            Signal::None => &[],
            Signal::Warning => &self.on_warning,
            Signal::Drift => &self.on_drift,
        }
    }
}

/// Unchecked settings of an [`LrSchedule`]: `lr_t = max(floor, base * decay^t)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrScheduleParams {
    base: f64,
    decay: f64,
    floor: f64,
}

impl LrScheduleParams {
    /// A constant rate `base` (decay 1, floor 0).
    pub fn new(base: f64) -> Self {
        Self {
            base,
            decay: 1.0,
            floor: 0.0,
        }
    }
    /// Multiplies the rate by `decay` per optimizer step.
    pub fn decay(mut self, decay: f64) -> Self {
        self.decay = decay;
        self
    }
    /// Never goes below `floor`.
    pub fn floor(mut self, floor: f64) -> Self {
        self.floor = floor;
        self
    }
    /// Checks `base > 0`, `decay` in (0, 1], `0 <= floor <= base`.
    pub fn check(self) -> Result<LrSchedule> {
        let Self { base, decay, floor } = self;
        if !(base.is_finite() && base > 0.0) {
            return Err(DriftError::invalid("base", base, "must be finite and > 0"));
        }
        if !(decay > 0.0 && decay <= 1.0) {
            return Err(DriftError::invalid("decay", decay, "must be in (0, 1]"));
        }
        if !(floor >= 0.0 && floor <= base) {
            return Err(DriftError::invalid("floor", floor, "must be in [0, base]"));
        }
        Ok(LrSchedule {
            base,
            decay,
            floor,
            t: 0,
        })
    }
}

/// An exponentially decaying learning rate `max(floor, base * decay^t)`, `t` the optimizer
/// steps since the last restart (made by [`LrScheduleParams::check`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    base: f64,
    decay: f64,
    floor: f64,
    t: u64,
}

impl LrSchedule {
    /// The current rate.
    pub fn lr(&self) -> f64 {
        (self.base * self.decay.powf(self.t as f64)).max(self.floor)
    }
    /// Steps since the last restart.
    pub fn steps(&self) -> u64 {
        self.t
    }
    fn advance(&mut self) {
        self.t += 1;
    }
    fn restart(&mut self) {
        self.t = 0;
    }
}

/// One logged reaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reaction {
    /// The training step at which the signal came.
    pub step: u64,
    /// The signal.
    pub signal: Signal,
    /// The estimated change point, when the detector gave one.
    pub change_point: Option<u64>,
    /// What was done, in order.
    pub actions: Vec<Action>,
    /// What could not be done (a roll-back without a checkpoint).
    pub skipped: Vec<Action>,
    /// Optimizer steps spent by the reaction (retraining).
    pub optimizer_steps: u64,
}

/// Drives a Burn model's optimizer and applies a [`ReactionPolicy`] on signals.
///
/// The training loop calls [`Adapter::step`] for every optimizer step (the rate comes from the
/// schedule), [`Adapter::checkpoint`] when the model is known good, and [`Adapter::react`] with
/// each detector signal; `react` hands `RetrainRecent` back to the loop through a callback that
/// owns the data (the adapter does not know the loss).
#[derive(Clone)]
pub struct Adapter<M: Module> {
    policy: ReactionPolicy,
    adam: AdamConfig,
    optimizer: ModuleOptimizer,
    schedule: LrSchedule,
    checkpoint: Option<M>,
    log: Vec<Reaction>,
    optimizer_steps: u64,
}

impl<M: Module + Clone> Adapter<M> {
    /// An adapter with this policy, Adam settings and schedule.
    pub fn new(policy: ReactionPolicy, adam: AdamConfig, schedule: LrSchedule) -> Result<Self> {
        let policy = policy.check()?;
        Ok(Self {
            optimizer: adam.init(),
            policy,
            adam,
            schedule,
            checkpoint: None,
            log: Vec::new(),
            optimizer_steps: 0,
        })
    }

    /// One optimizer step at the schedule's current rate; advances the schedule.
    pub fn step(&mut self, model: M, grads: GradientsParams) -> M {
        let lr = self.schedule.lr();
        self.schedule.advance();
        self.optimizer_steps += 1;
        self.optimizer.step(lr, model, grads)
    }

    /// Forgets the optimizer's state (Adam's moments) — the `ResetOptimizer` hook.
    pub fn reset_optimizer(&mut self) {
        self.optimizer = self.adam.init();
    }

    /// Restarts the learning-rate schedule — the `RestartSchedule` hook.
    pub fn restart_schedule(&mut self) {
        self.schedule.restart();
    }

    /// The last checkpoint — what the `RollBack` hook restores.
    pub fn checkpointed(&self) -> Option<&M> {
        self.checkpoint.as_ref()
    }

    /// Remembers `model` as the roll-back target.
    pub fn checkpoint(&mut self, model: &M) {
        self.checkpoint = Some(model.clone());
    }

    /// Applies the policy's reactions to `signal` (none for [`Signal::None`]) and logs them.
    /// `retrain(model, adapter, epochs)` runs `RetrainRecent` (calling [`Adapter::step`]).
    pub fn react(
        &mut self,
        step: u64,
        signal: Signal,
        change_point: Option<u64>,
        mut model: M,
        retrain: &mut dyn FnMut(M, &mut Self, usize) -> kiln_core::Result<M>,
    ) -> kiln_core::Result<M> {
        if signal == Signal::None {
            return Ok(model);
        }
        let actions = self.policy.actions(signal).to_vec();
        let before = self.optimizer_steps;
        let mut done = Vec::new();
        let mut skipped = Vec::new();
        for a in actions {
            match a {
                Action::ResetOptimizer => self.reset_optimizer(),
                Action::RestartSchedule => self.restart_schedule(),
                Action::RollBack => match &self.checkpoint {
                    Some(c) => model = c.clone(),
                    None => {
                        skipped.push(a);
                        continue;
                    }
                },
                Action::RetrainRecent { epochs } => model = retrain(model, self, epochs)?,
            }
            done.push(a);
        }
        self.log.push(Reaction {
            step,
            signal,
            change_point,
            actions: done,
            skipped,
            optimizer_steps: self.optimizer_steps - before,
        });
        Ok(model)
    }

    /// Every reaction so far.
    pub fn log(&self) -> &[Reaction] {
        &self.log
    }
    /// Optimizer steps taken through this adapter (the compute spent).
    pub fn optimizer_steps(&self) -> u64 {
        self.optimizer_steps
    }
    /// The schedule.
    pub fn schedule(&self) -> &LrSchedule {
        &self.schedule
    }
}
