//! `kiln ctc loss`: filled by the kiln-ctc issue.

use crate::Globals;
use crate::output::CmdResult;

/// Arguments of `kiln ctc loss`.
pub type Args = super::area::Pending;

/// Runs the subcommand.
pub fn run(args: &Args, _globals: &Globals) -> CmdResult {
    args.run("ctc")
}
