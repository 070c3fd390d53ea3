//! `kiln ctc decode`: filled by the kiln-ctc issue.

use crate::Globals;
use crate::output::CmdResult;

/// Arguments of `kiln ctc decode`.
pub type Args = super::area::Pending;

/// Runs the subcommand.
pub fn run(args: &Args, _globals: &Globals) -> CmdResult {
    args.run("ctc")
}
