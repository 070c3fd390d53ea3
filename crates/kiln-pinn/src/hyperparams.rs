//! Training hyperparameters, validated once (linfa style): [`PinnParams`] -> `check()` ->
//! [`PinnValidParams`]. Solvers accept only the checked form.

use kiln_core::{KilnError, Precision};
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::errors::Result;
use crate::network::Architecture;
use crate::sampling::Sampler;

/// Residual-based adaptive refinement (Lu et al. 2021): every `every` Adam steps, evaluate the
/// residual at `candidates` random points and add the `add` worst to the collocation set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RarParams {
    /// Adam steps between refinements.
    pub every: usize,
    /// Candidate points per refinement.
    pub candidates: usize,
    /// Points added per refinement.
    pub add: usize,
}

/// Which code computes the loss and its gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The fused plain-Rust engine where it applies (f64, MLP or Fourier network, a problem
    /// with a pointwise residual), Burn otherwise.
    #[default]
    Auto,
    /// Jets on Burn tensors, gradient by Burn's autodiff.
    Burn,
    /// The fused plain-Rust f64 engine (one pass over the network per point, no tensors); an error where it does not apply.
    Fused,
}

/// Causal weighting of the residual (Wang, Sankaran & Perdikaris 2022): the time axis is cut
/// into `slabs` slabs and slab `k`'s mean squared residual `L_k` is weighted by
/// `exp(-epsilon * (L_0 + ... + L_{k-1}))`, a constant in the gradient, so later times count
/// only once earlier ones are resolved. Applied during Adam; L-BFGS then minimises the
/// plain loss (its line search needs the gradient of the function it evaluates).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CausalParams {
    /// Number of time slabs.
    pub slabs: usize,
    /// Causality parameter `epsilon`.
    pub epsilon: f64,
}

/// Stop training the first time the relative L2 error against the problem's reference
/// solution is at most `l2`, checked every `every` Adam steps (after `every`, `2 every`, ...
/// steps; the check is inside the timed training). The time-to-target rule of a fair
/// comparison with another library (DeepXDE's `benches/deepxde_poisson.py` checks the same way
/// every 100 steps). L-BFGS does not run once the target is reached.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetL2 {
    /// Target relative L2 error (> 0).
    pub l2: f64,
    /// Adam steps between checks (> 0).
    pub every: usize,
}

/// Unchecked PINN hyperparameters with builder methods (serde: the unchecked form only; a
/// deserialized value still goes through [`PinnParams::check`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PinnParams(Fields);

/// Checked PINN hyperparameters: only [`PinnParams::check`] makes them (no `Deserialize`, no
/// public constructor).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PinnValidParams(Fields);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Fields {
    hidden: Vec<usize>,
    activation: Activation,
    architecture: Architecture,
    n_collocation: usize,
    n_boundary: usize,
    sampler: Sampler,
    adam_steps: usize,
    adam_lr: f64,
    adam_decay_per_1000: f64,
    lbfgs_steps: usize,
    lbfgs_history: usize,
    tolerance_grad: f64,
    tolerance_change: f64,
    precision: Precision,
    seed: u64,
    balance_every: usize,
    rar: Option<RarParams>,
    engine: Engine,
    causal: Option<CausalParams>,
    time_limit_s: Option<f64>,
    #[serde(default)]
    target_l2: Option<TargetL2>,
}

impl Default for PinnParams {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident: $t:ty) => {
        $(#[$m])*
        pub fn $name(mut self, value: $t) -> Self {
            self.0.$name = value;
            self
        }
    };
}

macro_rules! getter {
    ($(#[$m:meta])* $name:ident: $t:ty) => {
        $(#[$m])*
        pub fn $name(&self) -> $t {
            self.0.$name.clone()
        }
    };
}

impl PinnParams {
    /// Defaults: 3 x 32 tanh MLP, 2000 Sobol collocation points, 2000 Adam steps at 1e-3 then
    /// up to 1000 L-BFGS iterations, f64.
    pub fn new() -> Self {
        PinnParams(Fields {
            hidden: vec![32, 32, 32],
            activation: Activation::Tanh,
            architecture: Architecture::Mlp,
            n_collocation: 2000,
            n_boundary: 200,
            sampler: Sampler::Sobol,
            adam_steps: 2000,
            adam_lr: 1e-3,
            adam_decay_per_1000: 1.0,
            lbfgs_steps: 1000,
            lbfgs_history: 50,
            tolerance_grad: 1e-9,
            tolerance_change: 1e-12,
            precision: Precision::F64,
            seed: 0,
            balance_every: 0,
            rar: None,
            engine: Engine::Auto,
            causal: None,
            time_limit_s: None,
            target_l2: None,
        })
    }

    setter!(/// Hidden layer widths.
        hidden: Vec<usize>);
    setter!(/// Activation.
        activation: Activation);
    setter!(/// Network family.
        architecture: Architecture);
    setter!(/// Collocation points in the domain.
        n_collocation: usize);
    setter!(/// Points per soft condition.
        n_boundary: usize);
    setter!(/// Collocation sampler.
        sampler: Sampler);
    setter!(/// Adam steps (0: none).
        adam_steps: usize);
    setter!(/// Adam learning rate.
        adam_lr: f64);
    setter!(/// Adam learning-rate factor per 1000 steps.
        adam_decay_per_1000: f64);
    setter!(/// L-BFGS iterations (0: none).
        lbfgs_steps: usize);
    setter!(/// L-BFGS history size.
        lbfgs_history: usize);
    setter!(/// Gradient tolerance (max-norm) for both phases.
        tolerance_grad: f64);
    setter!(/// L-BFGS change tolerance (loss and step).
        tolerance_change: f64);
    setter!(/// Arithmetic precision of the network and loss.
        precision: Precision);
    setter!(/// The run's one seed: network initialisation, collocation sampling, RAR candidates
        /// and the observations of a built-in problem each draw from their own stream of it.
        seed: u64);
    setter!(/// Rebalance loss-term weights by gradient norms every this many Adam steps (0: off).
        balance_every: usize);
    setter!(/// Residual-based adaptive refinement during Adam (None: off).
        rar: Option<RarParams>);
    setter!(/// Loss engine.
        engine: Engine);
    setter!(/// Causal weighting of the residual of a time-dependent problem (None: off).
        causal: Option<CausalParams>);
    setter!(/// Wall-clock limit in seconds for the whole training; L-BFGS stops with
        /// `time_limit` once it has passed (None: no limit).
        time_limit_s: Option<f64>);
    setter!(/// Stop once the error against the reference reaches a target, checked during Adam
        /// (None: off, the default).
        target_l2: Option<TargetL2>);

    /// Validates every field.
    pub fn check(self) -> Result<PinnValidParams> {
        let p = self.0;
        if p.hidden.is_empty() || p.hidden.contains(&0) {
            return Err(KilnError::invalid(
                "hidden",
                format!("{:?}", p.hidden),
                "needs at least one layer, all widths > 0",
            )
            .into());
        }
        if matches!(p.architecture, Architecture::Modified)
            && p.hidden.iter().any(|&w| w != p.hidden[0])
        {
            return Err(KilnError::invalid(
                "hidden",
                format!("{:?}", p.hidden),
                "the modified MLP needs equal hidden widths",
            )
            .into());
        }
        if let Architecture::Fourier { features, sigma } = p.architecture
            && (features == 0 || !(sigma.is_finite() && sigma > 0.0))
        {
            return Err(KilnError::invalid(
                "fourier",
                format!("features {features}, sigma {sigma}"),
                "needs features > 0 and sigma > 0",
            )
            .into());
        }
        if p.n_collocation == 0 {
            return Err(KilnError::invalid("n_collocation", 0, "must be > 0").into());
        }
        if p.n_boundary == 0 {
            return Err(KilnError::invalid("n_boundary", 0, "must be > 0").into());
        }
        if !(p.adam_lr.is_finite() && p.adam_lr > 0.0) {
            return Err(KilnError::invalid("adam_lr", p.adam_lr, "must be finite and > 0").into());
        }
        if !(p.adam_decay_per_1000.is_finite()
            && p.adam_decay_per_1000 > 0.0
            && p.adam_decay_per_1000 <= 1.0)
        {
            return Err(KilnError::invalid(
                "adam_decay_per_1000",
                p.adam_decay_per_1000,
                "must be in (0, 1]",
            )
            .into());
        }
        if p.lbfgs_history == 0 {
            return Err(KilnError::invalid("lbfgs_history", 0, "must be > 0").into());
        }
        for (name, v) in [
            ("tolerance_grad", p.tolerance_grad),
            ("tolerance_change", p.tolerance_change),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(KilnError::invalid(name, v, "must be finite and >= 0").into());
            }
        }
        if let Some(r) = p.rar
            && (r.every == 0 || r.candidates == 0 || r.add == 0 || r.add > r.candidates)
        {
            return Err(KilnError::invalid(
                "rar",
                format!("{r:?}"),
                "needs every, candidates, add > 0 and add <= candidates",
            )
            .into());
        }
        if let Some(c) = p.causal
            && (c.slabs == 0 || !(c.epsilon.is_finite() && c.epsilon >= 0.0))
        {
            return Err(KilnError::invalid(
                "causal",
                format!("{c:?}"),
                "needs slabs > 0 and a finite epsilon >= 0",
            )
            .into());
        }
        if let Some(t) = p.time_limit_s
            && !(t.is_finite() && t > 0.0)
        {
            return Err(KilnError::invalid("time_limit_s", t, "must be finite and > 0").into());
        }
        if let Some(t) = p.target_l2
            && (!(t.l2.is_finite() && t.l2 > 0.0) || t.every == 0)
        {
            return Err(KilnError::invalid(
                "target_l2",
                format!("{t:?}"),
                "needs a finite l2 > 0 and every > 0",
            )
            .into());
        }
        Ok(PinnValidParams(p))
    }
}

impl PinnValidParams {
    getter!(/// Hidden layer widths.
        hidden: Vec<usize>);
    getter!(/// Activation.
        activation: Activation);
    getter!(/// Network family.
        architecture: Architecture);
    getter!(/// Collocation points.
        n_collocation: usize);
    getter!(/// Points per soft condition.
        n_boundary: usize);
    getter!(/// Sampler.
        sampler: Sampler);
    getter!(/// Adam steps.
        adam_steps: usize);
    getter!(/// Adam learning rate.
        adam_lr: f64);
    getter!(/// Adam learning-rate factor per 1000 steps.
        adam_decay_per_1000: f64);
    getter!(/// L-BFGS iterations.
        lbfgs_steps: usize);
    getter!(/// L-BFGS history size.
        lbfgs_history: usize);
    getter!(/// Gradient tolerance.
        tolerance_grad: f64);
    getter!(/// Change tolerance.
        tolerance_change: f64);
    getter!(/// Precision.
        precision: Precision);
    getter!(/// Seed.
        seed: u64);
    getter!(/// Loss-balancing period.
        balance_every: usize);
    getter!(/// RAR settings.
        rar: Option<RarParams>);
    getter!(/// Loss engine.
        engine: Engine);
    getter!(/// Causal weighting.
        causal: Option<CausalParams>);
    getter!(/// Wall-clock limit of training in seconds.
        time_limit_s: Option<f64>);
    getter!(/// Target error and check period, if any.
        target_l2: Option<TargetL2>);

    /// Back to the unchecked builder (to change a field and check again).
    pub fn into_params(self) -> PinnParams {
        PinnParams(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_sizes_are_rejected_at_construction() {
        assert!(PinnParams::new().check().is_ok());
        assert!(PinnParams::new().hidden(vec![]).check().is_err());
        assert!(PinnParams::new().hidden(vec![8, 0]).check().is_err());
        assert!(PinnParams::new().n_collocation(0).check().is_err());
        assert!(PinnParams::new().adam_lr(f64::NAN).check().is_err());
        assert!(PinnParams::new().adam_lr(-1.0).check().is_err());
        assert!(PinnParams::new().tolerance_change(-1.0).check().is_err());
        assert!(
            PinnParams::new()
                .architecture(Architecture::Modified)
                .hidden(vec![8, 16])
                .check()
                .is_err()
        );
        let rar = RarParams {
            every: 10,
            candidates: 5,
            add: 6,
        };
        assert!(PinnParams::new().rar(Some(rar)).check().is_err());
        for (slabs, epsilon) in [(0, 1.0), (8, -1.0), (8, f64::NAN)] {
            let c = CausalParams { slabs, epsilon };
            assert!(PinnParams::new().causal(Some(c)).check().is_err());
        }
        assert!(PinnParams::new().time_limit_s(Some(0.0)).check().is_err());
        for (l2, every) in [(0.0, 100), (f64::NAN, 100), (1e-3, 0)] {
            let t = TargetL2 { l2, every };
            assert!(PinnParams::new().target_l2(Some(t)).check().is_err());
        }
        assert!(
            PinnParams::new()
                .time_limit_s(Some(f64::INFINITY))
                .check()
                .is_err()
        );
    }
}
