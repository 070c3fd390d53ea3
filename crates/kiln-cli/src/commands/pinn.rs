//! `kiln pinn solve`: train a physics-informed network on a built-in problem (kiln-pinn) and
//! measure it against the exact or reference solution.

use kiln_core::{KilnError, Precision};
use kiln_pinn::{ProblemKind, ProblemOptions, TargetL2, presets};
use serde_json::json;

use crate::Globals;
use crate::output::{CmdResult, Output};
use crate::progress::Bar;

/// Arguments of `kiln pinn`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: PinnCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PinnCommand {
    /// Train on a built-in problem and report the relative L2 error.
    Solve(SolveArgs),
}

/// Arguments of `kiln pinn solve`.
#[derive(Debug, clap::Args)]
struct SolveArgs {
    /// burgers, poisson1d, heat, helmholtz2d, allen-cahn, kovasznay or elasticity.
    #[arg(long)]
    problem: String,
    /// Adam steps (default: the problem's preset).
    #[arg(long)]
    adam_steps: Option<usize>,
    /// L-BFGS iterations (default: the problem's preset).
    #[arg(long)]
    lbfgs_steps: Option<usize>,
    /// Arithmetic precision: f32 or f64 (default: the preset, f64).
    #[arg(long, value_parser = parse_precision)]
    precision: Option<Precision>,
    /// Collocation points (default: the problem's preset).
    #[arg(long)]
    collocation: Option<usize>,
    /// Impose boundary/initial conditions as penalties instead of exactly.
    #[arg(long)]
    soft: bool,
    /// Wall-clock limit of training in seconds; L-BFGS then stops with `time_limit`
    /// (default: the problem's preset).
    #[arg(long)]
    time_limit: Option<f64>,
    /// Stop the first time the relative L2 error is at most this, checked every
    /// --check-every Adam steps (time to target; L-BFGS does not run after it).
    #[arg(long)]
    target_l2: Option<f64>,
    /// Adam steps between --target-l2 checks.
    #[arg(long, default_value_t = 100, requires = "target_l2")]
    check_every: usize,
}

fn parse_precision(s: &str) -> Result<Precision, String> {
    s.parse().map_err(|e: KilnError| e.to_string())
}

fn solve(a: &SolveArgs, globals: &Globals) -> CmdResult {
    let kind = ProblemKind::parse(&a.problem)?;
    let backend = globals.backend()?;
    let mut params = presets::recommended(kind).seed(globals.seed);
    if let Some(n) = a.adam_steps {
        params = params.adam_steps(n);
    }
    if let Some(n) = a.lbfgs_steps {
        params = params.lbfgs_steps(n);
    }
    if let Some(p) = a.precision {
        params = params.precision(p);
    }
    if let Some(n) = a.collocation {
        params = params.n_collocation(n);
    }
    if let Some(t) = a.time_limit {
        params = params.time_limit_s(Some(t));
    }
    if let Some(l2) = a.target_l2 {
        params = params.target_l2(Some(TargetL2 {
            l2,
            every: a.check_every,
        }));
    }
    let params = params.check()?;
    let options = ProblemOptions {
        hard_constraints: !a.soft,
        ..ProblemOptions::default()
    };
    let bar = Bar::new("pinn", globals.json || globals.quiet);
    let result = kiln_pinn::solve(kind, &options, &params, backend, &bar);
    bar.finish();
    let (report, _) = result?;
    let t = &report.train;
    let json = json!({
        "problem": report.problem,
        "l2_relative_error": report.l2_relative_error,
        "stop_reason": t.stop_reason.name(),
        "adam_steps": t.adam.steps,
        "lbfgs_steps": t.lbfgs.steps,
        "seconds": t.seconds,
        "final_loss": t.final_loss,
        "max_abs_error": report.max_abs_error,
        "adam_stop_reason": t.adam.stop_reason.name(),
        "lbfgs_stop_reason": t.lbfgs.stop_reason.name(),
        "precision": params.precision().to_string(),
        "time_limit_s": params.time_limit_s(),
        "n_collocation": t.n_collocation,
    });
    let human = format!(
        "{}: relative L2 error {:.3e} (max abs {:.3e})\nstopped: {} after {} Adam + {} L-BFGS \
         steps, final loss {:.3e}, {:.1} s ({})",
        report.problem,
        report.l2_relative_error,
        report.max_abs_error,
        t.stop_reason,
        t.adam.steps,
        t.lbfgs.steps,
        t.final_loss,
        t.seconds,
        params.precision()
    );
    Ok(Output::new(json, human))
}

/// Runs the subcommand.
pub fn run(args: &Args, globals: &Globals) -> CmdResult {
    match &args.command {
        PinnCommand::Solve(a) => solve(a, globals),
    }
}
