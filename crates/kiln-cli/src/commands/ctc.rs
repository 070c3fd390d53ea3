//! `kiln ctc`: `loss` (kiln-ctc's CTC loss) and `decode` (its decoders).

use crate::Globals;
use crate::output::CmdResult;

/// Arguments of `kiln ctc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: CtcCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CtcCommand {
    /// CTC loss (and optionally its gradient) of a case file. Plain Rust on the host: uses no
    /// tensors and no randomness, so --backend and --seed do not change the result.
    Loss(super::ctc_loss::Args),
    /// Decode per-frame log-probabilities into text. Plain Rust on the host: uses no tensors
    /// and no randomness, so --backend and --seed do not change the result.
    Decode(super::ctc_decode::Args),
}

/// Runs the subcommand.
pub fn run(args: &Args, globals: &Globals) -> CmdResult {
    match &args.command {
        CtcCommand::Loss(a) => super::ctc_loss::run(a, globals),
        CtcCommand::Decode(a) => super::ctc_decode::run(a, globals),
    }
}
