//! `kiln privacy`: filled by the kiln-privacy issue.

use crate::Globals;
use crate::output::CmdResult;

/// Arguments of `kiln privacy`.
pub type Args = super::area::Pending;

/// Runs the subcommand.
pub fn run(args: &Args, _globals: &Globals) -> CmdResult {
    args.run("privacy")
}
