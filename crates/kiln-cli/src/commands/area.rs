//! Placeholder for an area whose crate does not have a command-line interface yet.

use crate::output::{CliError, CmdResult};

/// Arguments of an area subcommand that is not built yet (accepted, then refused clearly).
#[derive(Debug, clap::Args)]
pub struct Pending {
    /// Arguments for the area's future commands.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<String>,
}

impl Pending {
    /// Refuses with a message that says where the work is tracked.
    pub fn run(&self, area: &str) -> CmdResult {
        Err(CliError::Internal(format!(
            "`kiln {area}` is not available yet: crate kiln-{area} is still a skeleton \
             (see crates/kiln-{area}/README.md)"
        )))
    }
}
