//! `kiln norm sweep`: train the built-in conv net with each normalization at each batch size
//! (kiln-norm's seed experiment) and print test error and train/inference gap per cell.

use kiln_core::KilnError;
use kiln_norm::experiment::sweep;
use kiln_norm::{NormKind, SweepParams};
use serde_json::json;

use crate::Globals;
use crate::output::{CliError, CmdResult, Output};
use crate::progress::Bar;

/// Arguments of `kiln norm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: NormCommand,
}

#[derive(Debug, clap::Subcommand)]
enum NormCommand {
    /// Train with BatchNorm, GroupNorm, BN + PreciseBN and Batch Renorm at batch sizes 32..2 on
    /// the built-in synthetic image task; print test error and train/inference gap per cell.
    Sweep(SweepArgs),
}

/// Arguments of `kiln norm sweep`.
#[derive(Debug, clap::Args)]
struct SweepArgs {
    /// Seconds-scale run (128 training images, 1 epoch): not converged.
    #[arg(long)]
    quick: bool,
    /// Comma-separated norms: batch, group, precise-bn, batch-renorm, ghost, frn, evonorm-s0
    /// (default: batch,group,precise-bn,batch-renorm).
    #[arg(long, value_delimiter = ',', value_parser = parse_norm)]
    norms: Option<Vec<NormKind>>,
    /// Comma-separated training batch sizes in 2..=64 (default: 32,16,8,4,2).
    #[arg(long, value_delimiter = ',')]
    batch_sizes: Option<Vec<usize>>,
}

fn parse_norm(s: &str) -> Result<NormKind, String> {
    s.parse().map_err(|e: KilnError| e.to_string())
}

fn run_sweep(a: &SweepArgs, globals: &Globals) -> CmdResult {
    let mut params = SweepParams::new().quick(a.quick).seed(globals.seed);
    if let Some(n) = &a.norms {
        params = params.norms(n.clone());
    }
    if let Some(b) = &a.batch_sizes {
        params = params.batch_sizes(b.clone());
    }
    let params = params
        .check()
        .map_err(|e| CliError::from(KilnError::from(e)))?;
    let bar = Bar::new("norm sweep", globals.json || globals.quiet);
    let rows = sweep(&params, globals.backend()?, &bar);
    bar.finish();
    let rows = rows.map_err(|e| CliError::from(KilnError::from(e)))?;
    let json = json!({ "rows": rows });
    let mut human = format!(
        "{:<14} {:>5} {:>10} {:>10} {:>10}\n",
        "norm", "batch", "test_err", "gap", "train_s"
    );
    for r in &rows {
        human.push_str(&format!(
            "{:<14} {:>5} {:>10.4} {:>+10.4} {:>10.1}\n",
            r.norm.name(),
            r.batch_size,
            r.test_error,
            r.train_eval_gap,
            r.seconds
        ));
    }
    if a.quick {
        human.push_str("--quick: not converged; numbers only show that every path runs\n");
    }
    Ok(Output::new(json, human))
}

/// Runs the subcommand.
pub fn run(args: &Args, globals: &Globals) -> CmdResult {
    match &args.command {
        NormCommand::Sweep(a) => run_sweep(a, globals),
    }
}
