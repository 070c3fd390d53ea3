//! `kiln privacy`: `epsilon`, `noise` and `audit` (kiln-privacy's accountants).

use std::path::PathBuf;

use kiln_privacy::PrvParams;
use kiln_privacy::accountant::{finite_epsilon, pld_bracket};
use kiln_privacy::audit::{TrainingPlan, audit};
use kiln_privacy::calibrate::{CalibrationParams, Unknown, calibrate};
use kiln_privacy::event::check_delta;
use kiln_privacy::rdp::RdpAccountant;
use kiln_privacy::{
    AccountantKind, BatchSampling, FractionalOrders, Ledger, PrivacyError, RdpParams,
};
use serde_json::json;

use crate::Globals;
use crate::output::{CliError, CmdResult, Output};

/// Arguments of `kiln privacy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: PrivacyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PrivacyCommand {
    /// Epsilon of DP-SGD after N steps (Poisson or fixed-size batches). Plain-Rust accounting:
    /// uses no tensors and no randomness, so --backend and --seed do not change the result.
    Epsilon(EpsilonArgs),
    /// Smallest noise multiplier meeting a target epsilon. Plain-Rust accounting: uses no
    /// tensors and no randomness, so --backend and --seed do not change the result.
    Noise(NoiseArgs),
    /// Recompute a training plan's claimed (epsilon, delta) and name likely mistakes.
    /// Plain-Rust accounting: uses no tensors and no randomness, so --backend and --seed do not
    /// change the result.
    Audit(AuditArgs),
}

fn parse_kind(s: &str) -> Result<AccountantKind, String> {
    s.parse().map_err(|e: PrivacyError| e.to_string())
}

/// How batches are drawn (`--sampling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SamplingArg {
    /// Each example independently with probability --sampling-rate (add/remove-one).
    Poisson,
    /// Exactly --batch-size distinct examples of --dataset-size (replace-one).
    WithoutReplacement,
    /// --batch-size independent draws from --dataset-size (replace-one; coarse bound).
    WithReplacement,
}

/// The batch-sampling flags shared by `epsilon` and `noise`: clap enforces which flags go
/// with which `--sampling` (a rate for Poisson, a dataset and a batch size for fixed-size).
#[derive(Debug, clap::Args)]
struct SamplingFlags {
    /// poisson (default), without-replacement or with-replacement.
    #[arg(long, value_enum, default_value = "poisson")]
    sampling: SamplingArg,
    /// Poisson sampling rate q in (0, 1] (poisson only).
    #[arg(
        long,
        required_if_eq("sampling", "poisson"),
        conflicts_with_all = ["dataset_size", "batch_size"]
    )]
    sampling_rate: Option<f64>,
    /// Dataset size N (fixed-size sampling only).
    #[arg(
        long,
        requires = "batch_size",
        required_if_eq_any = [("sampling", "without-replacement"), ("sampling", "with-replacement")]
    )]
    dataset_size: Option<u64>,
    /// Batch size M (fixed-size sampling only).
    #[arg(long, requires = "dataset_size")]
    batch_size: Option<u64>,
}

impl SamplingFlags {
    /// The checked sampling scheme; exit 2 when the flags do not fit `--sampling`.
    fn scheme(&self) -> Result<BatchSampling, CliError> {
        let scheme = match (
            self.sampling,
            self.sampling_rate,
            self.dataset_size,
            self.batch_size,
        ) {
            (SamplingArg::Poisson, Some(q), None, None) => BatchSampling::poisson(q),
            (SamplingArg::WithoutReplacement, None, Some(n), Some(m)) => {
                BatchSampling::WithoutReplacement {
                    dataset_size: n,
                    batch_size: m,
                }
            }
            (SamplingArg::WithReplacement, None, Some(n), Some(m)) => {
                BatchSampling::WithReplacement {
                    dataset_size: n,
                    batch_size: m,
                }
            }
            // clap's rules above reject every other combination before this point.
            _ => {
                return Err(CliError::BadInput(
                    "--sampling poisson takes --sampling-rate Q; fixed-size sampling takes \
                     --dataset-size N --batch-size M"
                        .into(),
                ));
            }
        };
        scheme.check()?;
        Ok(scheme)
    }
}

/// The sampling scheme's fields for the JSON answer.
fn sampling_json(s: &BatchSampling) -> serde_json::Value {
    match *s {
        BatchSampling::Poisson { sampling_rate } => {
            json!({"sampling": s.name(), "sampling_rate": sampling_rate})
        }
        BatchSampling::WithoutReplacement {
            dataset_size,
            batch_size,
        } => json!({"sampling": s.name(), "dataset_size": dataset_size,
                    "batch_size": batch_size, "neighbouring": "replace_one"}),
        BatchSampling::WithReplacement {
            dataset_size,
            batch_size,
        } => json!({"sampling": s.name(), "dataset_size": dataset_size,
                    "batch_size": batch_size, "neighbouring": "replace_one",
                    "note": "coarse sound RDP bound (no tight analysis of sampling with \
                             replacement; dp_accounting 0.6 has none)"}),
    }
}

/// One-line description of the scheme for human output.
fn sampling_human(s: &BatchSampling) -> String {
    match *s {
        BatchSampling::Poisson { sampling_rate } => format!("Poisson q = {sampling_rate}"),
        BatchSampling::WithoutReplacement {
            dataset_size,
            batch_size,
        } => format!("{batch_size} of {dataset_size} without replacement"),
        BatchSampling::WithReplacement {
            dataset_size,
            batch_size,
        } => format!("{batch_size} draws of {dataset_size} with replacement"),
    }
}

/// Merges `extra`'s fields into `j`.
fn merge(j: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(o), serde_json::Value::Object(e)) = (j.as_object_mut(), extra) {
        o.extend(e);
    }
}

#[derive(Debug, clap::Args)]
struct EpsilonArgs {
    #[command(flatten)]
    sampling: SamplingFlags,
    /// Noise multiplier sigma (> 0).
    #[arg(long)]
    noise_multiplier: f64,
    /// Number of steps.
    #[arg(long)]
    steps: u64,
    /// Target delta in (0, 1).
    #[arg(long)]
    delta: f64,
    /// rdp, pld, basic, advanced or prv (prints the upper end of its certified bracket).
    #[arg(long, default_value = "rdp", value_parser = parse_kind)]
    accountant: AccountantKind,
    /// Also report a certified bracket on the true epsilon: PLD optimistic/pessimistic, or
    /// PRV's error bounds with `--accountant prv`.
    #[arg(long)]
    bracket: bool,
    /// RDP only: evaluate fractional orders by the exact integral instead of dp_accounting's
    /// absolute-value series (tighter, never looser; no dp_accounting parity).
    #[arg(long)]
    exact_fractional_orders: bool,
}

#[derive(Debug, clap::Args)]
struct NoiseArgs {
    /// Target epsilon (> 0).
    #[arg(long)]
    target_epsilon: f64,
    #[command(flatten)]
    sampling: SamplingFlags,
    /// Number of steps.
    #[arg(long)]
    steps: u64,
    /// Target delta in (0, 1).
    #[arg(long)]
    delta: f64,
    /// rdp or pld.
    #[arg(long, default_value = "rdp", value_parser = parse_kind)]
    accountant: AccountantKind,
    /// Relative width of the final bisection bracket.
    #[arg(long, default_value_t = 1e-4)]
    tolerance: f64,
}

#[derive(Debug, clap::Args)]
struct AuditArgs {
    /// Training plan JSON: dataset_size, batch_size, epochs or steps, noise_multiplier,
    /// sampling (poisson|shuffle|without_replacement|with_replacement), delta,
    /// claimed_epsilon, accounted_with.
    #[arg(long)]
    plan: PathBuf,
}

/// Runs the subcommand (no tensors, no randomness: `--backend` and `--seed` do not apply).
pub fn run(args: &Args, _globals: &Globals) -> CmdResult {
    match &args.command {
        PrivacyCommand::Epsilon(a) => {
            let scheme = a.sampling.scheme()?;
            let ledger = Ledger::steps(&scheme, a.noise_multiplier, a.steps)?;
            let eps = if a.exact_fractional_orders {
                if a.accountant != AccountantKind::Rdp {
                    return Err(CliError::BadInput(format!(
                        "--exact-fractional-orders applies to --accountant rdp, not {}",
                        a.accountant
                    )));
                }
                let params = RdpParams::new()
                    .fractional(FractionalOrders::Exact)
                    .check()?;
                check_delta(a.delta)?;
                RdpAccountant::new(params)
                    .epsilon(&ledger, a.delta)?
                    .epsilon
            } else {
                // An infinite epsilon is an error that says why (JSON has no infinity).
                finite_epsilon(a.accountant, &ledger, a.delta)?
            };
            let mut j = json!({
                "epsilon": eps,
                "accountant": a.accountant.name(),
                "noise_multiplier": a.noise_multiplier,
                "steps": a.steps,
                "delta": a.delta,
            });
            merge(&mut j, sampling_json(&scheme));
            if a.exact_fractional_orders {
                j["fractional_orders"] = json!("exact");
            }
            let mut human = format!(
                "epsilon = {eps:.6} at delta = {:e} ({} accountant; {}, sigma = {}, {} steps)",
                a.delta,
                a.accountant,
                sampling_human(&scheme),
                a.noise_multiplier,
                a.steps
            );
            if a.bracket && a.accountant == AccountantKind::Prv {
                let b = PrvParams::new().check()?.epsilon(&ledger, a.delta)?;
                j["bracket"] = json!({
                    "lower": b.lower, "upper": b.upper, "estimate": b.estimate,
                    "eps_error": b.eps_error, "delta_error": b.delta_error,
                    "from": "prv error bounds (Gopi, Lee & Wutschitz 2021)"
                });
                human.push_str(&format!(
                    "\nPRV certified bracket on the true epsilon: [{:.6}, {:.6}] (estimate {:.6})",
                    b.lower, b.upper, b.estimate
                ));
            } else if a.bracket {
                let (lo, hi) = pld_bracket(&ledger, a.delta)?;
                j["bracket"] =
                    json!({"lower": lo, "upper": hi, "from": "pld optimistic/pessimistic"});
                human.push_str(&format!(
                    "\nPLD bracket on the true epsilon: [{lo:.6}, {hi:.6}]"
                ));
            }
            Ok(Output::new(j, human))
        }
        PrivacyCommand::Noise(a) => {
            let scheme = a.sampling.scheme()?;
            let params = CalibrationParams::new(Unknown::NoiseMultiplier)
                .accountant(a.accountant)
                .sampling(scheme)
                .steps(a.steps)
                .target_epsilon(a.target_epsilon)
                .delta(a.delta)
                .tolerance(a.tolerance)
                .check()?;
            let c = calibrate(&params)?;
            let mut j = json!({
                "noise_multiplier": c.value,
                "epsilon": c.epsilon,
                "target_epsilon": a.target_epsilon,
                "accountant": a.accountant.name(),
                "bracket": [c.bracket.0, c.bracket.1],
                "tolerance": a.tolerance,
                "evaluations": c.evaluations,
            });
            merge(&mut j, sampling_json(&scheme));
            let human = format!(
                "noise multiplier = {:.6} (epsilon {:.6} <= target {}; bracket [{:.6}, {:.6}], {} accountant)",
                c.value, c.epsilon, a.target_epsilon, c.bracket.0, c.bracket.1, a.accountant
            );
            Ok(Output::new(j, human))
        }
        PrivacyCommand::Audit(a) => {
            let plan = TrainingPlan::load(&a.plan)?;
            let r = audit(&plan)?;
            let mut human = r.verdict.clone();
            for m in &r.mistakes {
                human.push_str(&format!(
                    "\n  {} {}: epsilon {:.4} ({})",
                    if m.matches_claim { "*" } else { " " },
                    m.name,
                    m.epsilon,
                    m.description
                ));
            }
            let j = serde_json::to_value(&r).map_err(|e| CliError::Internal(e.to_string()))?;
            Ok(Output::new(j, human))
        }
    }
}
