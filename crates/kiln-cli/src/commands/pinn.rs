//! `kiln pinn`: filled by the kiln-pinn issue.

use crate::Globals;
use crate::output::CmdResult;

/// Arguments of `kiln pinn`.
pub type Args = super::area::Pending;

/// Runs the subcommand.
pub fn run(args: &Args, _globals: &Globals) -> CmdResult {
    args.run("pinn")
}
