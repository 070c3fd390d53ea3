//! What a command hands back, and how failures map to exit codes.

use kiln_core::KilnError;
use serde_json::Value;

/// A command's result: one JSON object for `--json`, text otherwise.
#[derive(Debug, Clone)]
pub struct Output {
    /// Printed with `--json` (must be an object).
    pub json: Value,
    /// Printed otherwise.
    pub human: String,
}

impl Output {
    /// Builds an output from its two renderings.
    pub fn new(json: Value, human: impl Into<String>) -> Self {
        Self {
            json,
            human: human.into(),
        }
    }
}

/// A command failure with the exit code it deserves.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The user's input is wrong (exit code 2).
    #[error("{0}")]
    BadInput(String),
    /// kiln failed (exit code 1).
    #[error("{0}")]
    Internal(String),
}

impl CliError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::BadInput(_) => 2,
            CliError::Internal(_) => 1,
        }
    }
}

impl From<KilnError> for CliError {
    fn from(e: KilnError) -> Self {
        if e.is_user_error() {
            CliError::BadInput(e.to_string())
        } else {
            CliError::Internal(e.to_string())
        }
    }
}

impl From<kiln_ctc::CtcError> for CliError {
    fn from(e: kiln_ctc::CtcError) -> Self {
        KilnError::from(e).into()
    }
}

impl From<kiln_pinn::PinnError> for CliError {
    fn from(e: kiln_pinn::PinnError) -> Self {
        KilnError::from(e).into()
    }
}

impl From<kiln_privacy::PrivacyError> for CliError {
    fn from(e: kiln_privacy::PrivacyError) -> Self {
        KilnError::from(e).into()
    }
}

/// Result type of every command.
pub type CmdResult = Result<Output, CliError>;
