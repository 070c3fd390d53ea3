//! The experiments `kiln reproduce` knows. Each area adds one line here when its crate
//! exposes `experiment::run`.

use kiln_core::{ExperimentConfig, ExperimentReport, Result};

/// An experiment's entry point.
pub type RunFn = fn(&ExperimentConfig) -> Result<ExperimentReport>;

/// A registered experiment.
pub struct Entry {
    /// Name on the command line.
    pub name: &'static str,
    /// One-line description.
    pub about: &'static str,
    /// Entry point.
    pub run: RunFn,
}

/// Every experiment, in report order.
pub fn registry() -> Vec<Entry> {
    vec![
        Entry {
            name: kiln_core::check_experiment::NAME,
            about: "backend check: least squares by gradient descent vs the closed form",
            run: kiln_core::check_experiment::run,
        },
        Entry {
            name: kiln_privacy::experiment::NAME,
            about: "privacy: epsilon vs steps under four accountants, DP-SGD accuracy vs epsilon, audit",
            run: kiln_privacy::experiment::run,
        },
        Entry {
            name: kiln_pinn::experiment::NAME,
            about: "PINNs: Adam vs L-BFGS vs Adam -> L-BFGS, f32 vs f64, clean vs noisy data",
            run: kiln_pinn::experiment::run,
        },
        Entry {
            name: kiln_norm::experiment::NAME,
            about: "norm: BatchNorm vs GroupNorm, PreciseBN, Batch Renorm at batch 32..2; train/inference gap",
            run: kiln_norm::experiment::run,
        },
        Entry {
            name: kiln_drift::experiment::NAME,
            about: "drift: spam-rule changes; no adaptation vs periodic vs drift-triggered retraining",
            run: kiln_drift::experiment::run,
        },
        Entry {
            name: kiln_ctc::experiment::NAME,
            about: "CTC: blank plateau with/without remedies, greedy vs beam vs beam+LM error rates",
            run: kiln_ctc::experiment::run,
        },
        Entry {
            name: kiln_dynamics::experiment::NAME,
            about: "dynamics: constant vs random init, x*y with clipping/extragradient + GAN, CNN vs thermodynamic model OOD",
            run: kiln_dynamics::experiment::run,
        },
        Entry {
            name: kiln_losses::experiment::NAME,
            about: "losses: Dice vs Jaccard gradient vs overlap; small/large-object IoU under Dice, Jaccard, Lovász, CE",
            run: kiln_losses::experiment::run,
        },
        Entry {
            name: kiln_motifs::experiment::NAME,
            about: "motifs: FFL count/z/SP of an RNN's recurrent graph before vs after training; C. elegans under four nulls",
            run: kiln_motifs::experiment::run,
        },
    ]
}
