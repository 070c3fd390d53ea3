//! `kiln privacy`: `epsilon`, `noise` and `audit` (kiln-privacy's accountants).

use std::path::PathBuf;

use kiln_core::KilnError;
use kiln_privacy::accountant::pld_bracket;
use kiln_privacy::audit::{TrainingPlan, audit};
use kiln_privacy::calibrate::noise_multiplier;
use kiln_privacy::{AccountantKind, Ledger, PrivacyError, epsilon};
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
    /// Epsilon of DP-SGD with Poisson sampling after N steps.
    Epsilon(EpsilonArgs),
    /// Smallest noise multiplier meeting a target epsilon.
    Noise(NoiseArgs),
    /// Recompute a training plan's claimed (epsilon, delta) and name likely mistakes.
    Audit(AuditArgs),
}

fn parse_kind(s: &str) -> Result<AccountantKind, String> {
    s.parse().map_err(|e: PrivacyError| e.to_string())
}

#[derive(Debug, clap::Args)]
struct EpsilonArgs {
    /// Poisson sampling rate q in (0, 1].
    #[arg(long)]
    sampling_rate: f64,
    /// Noise multiplier sigma (> 0).
    #[arg(long)]
    noise_multiplier: f64,
    /// Number of steps.
    #[arg(long)]
    steps: u64,
    /// Target delta in (0, 1).
    #[arg(long)]
    delta: f64,
    /// rdp, pld, basic or advanced.
    #[arg(long, default_value = "rdp", value_parser = parse_kind)]
    accountant: AccountantKind,
    /// Also report the PLD optimistic/pessimistic bracket on the true epsilon.
    #[arg(long)]
    bracket: bool,
}

#[derive(Debug, clap::Args)]
struct NoiseArgs {
    /// Target epsilon (> 0).
    #[arg(long)]
    target_epsilon: f64,
    /// Poisson sampling rate q in (0, 1].
    #[arg(long)]
    sampling_rate: f64,
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
    /// sampling (poisson|shuffle), delta, claimed_epsilon, accounted_with.
    #[arg(long)]
    plan: PathBuf,
}

fn err(e: PrivacyError) -> CliError {
    CliError::from(KilnError::from(e))
}

/// Runs the subcommand.
pub fn run(args: &Args, _globals: &Globals) -> CmdResult {
    match &args.command {
        PrivacyCommand::Epsilon(a) => {
            let ledger =
                Ledger::dp_sgd(a.sampling_rate, a.noise_multiplier, a.steps).map_err(err)?;
            let eps = epsilon(a.accountant, &ledger, a.delta).map_err(err)?;
            let mut j = json!({
                "epsilon": eps,
                "accountant": a.accountant.name(),
                "sampling_rate": a.sampling_rate,
                "noise_multiplier": a.noise_multiplier,
                "steps": a.steps,
                "delta": a.delta,
            });
            let mut human = format!(
                "epsilon = {eps:.6} at delta = {:e} ({} accountant; q = {}, sigma = {}, {} steps)",
                a.delta, a.accountant, a.sampling_rate, a.noise_multiplier, a.steps
            );
            if a.bracket {
                let (lo, hi) = pld_bracket(&ledger, a.delta).map_err(err)?;
                j["bracket"] =
                    json!({"lower": lo, "upper": hi, "from": "pld optimistic/pessimistic"});
                human.push_str(&format!(
                    "\nPLD bracket on the true epsilon: [{lo:.6}, {hi:.6}]"
                ));
            }
            Ok(Output::new(j, human))
        }
        PrivacyCommand::Noise(a) => {
            if !matches!(a.accountant, AccountantKind::Rdp | AccountantKind::Pld) {
                return Err(CliError::BadInput(format!(
                    "--accountant {} is not supported for calibration; use rdp or pld",
                    a.accountant
                )));
            }
            let c = noise_multiplier(
                a.accountant,
                a.sampling_rate,
                a.steps,
                a.delta,
                a.target_epsilon,
                a.tolerance,
            )
            .map_err(err)?;
            let j = json!({
                "noise_multiplier": c.value,
                "epsilon": c.epsilon,
                "target_epsilon": a.target_epsilon,
                "accountant": a.accountant.name(),
                "bracket": [c.bracket.0, c.bracket.1],
                "tolerance": a.tolerance,
                "evaluations": c.evaluations,
            });
            let human = format!(
                "noise multiplier = {:.6} (epsilon {:.6} <= target {}; bracket [{:.6}, {:.6}], {} accountant)",
                c.value, c.epsilon, a.target_epsilon, c.bracket.0, c.bracket.1, a.accountant
            );
            Ok(Output::new(j, human))
        }
        PrivacyCommand::Audit(a) => {
            let plan = TrainingPlan::load(&a.plan).map_err(err)?;
            let r = audit(&plan).map_err(err)?;
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
