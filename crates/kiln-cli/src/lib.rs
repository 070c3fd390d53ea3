//! # kiln-cli
//!
//! The `kiln` program. It parses arguments, calls the area crates, and presents what they
//! return; it computes nothing itself. [`run`] is the whole program minus process plumbing, so
//! tests drive it in-process.
//!
//! Contract shared by every subcommand:
//! - `--json` prints exactly one JSON object on stdout; otherwise text.
//! - Errors print one line on stderr; exit code 2 for bad input, 1 for internal failures; with
//!   `--json`, stdout also carries `{"error": "..."}`.

use std::ffi::OsString;
use std::io::Write;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use kiln_core::BackendKind;

pub mod commands;
pub mod experiments;
pub mod output;
pub mod plot;
pub mod progress;
pub mod testing;

pub use output::{CliError, CmdResult, Output};

/// Flags every subcommand understands.
#[derive(Debug, Clone, clap::Args)]
pub struct Globals {
    /// Burn backend: flex (default CPU), ndarray, wgpu. Also read from KILN_BACKEND. A backend
    /// this build lacks exits 2 (given as a flag: in every subcommand; through KILN_BACKEND:
    /// in the subcommands that use tensors).
    #[arg(long, global = true, env = "KILN_BACKEND")]
    pub backend: Option<String>,
    /// Whether `--backend` came from the command line (not from KILN_BACKEND).
    #[arg(skip)]
    pub backend_from_flag: bool,
    /// Seed for every random choice (subcommands without randomness say so in their help).
    #[arg(long, global = true, default_value_t = 0)]
    pub seed: u64,
    /// Print exactly one JSON object on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars or chatter on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

impl Globals {
    /// The backend chosen by flag or environment (flex by default), checked to be compiled
    /// into this build: an unknown or missing backend is bad input (exit 2).
    pub fn backend(&self) -> Result<BackendKind, CliError> {
        let kind = self.requested_backend()?;
        if !kind.is_compiled() {
            return Err(kiln_core::KilnError::UnsupportedBackend {
                backend: kind.name().into(),
                reason: format!(
                    "not compiled into this build (rebuild with `--features kiln-core/{}`)",
                    kind.feature()
                ),
            }
            .into());
        }
        Ok(kind)
    }

    /// The backend named by flag or environment (flex by default), compiled in or not.
    pub fn requested_backend(&self) -> Result<BackendKind, CliError> {
        Ok(match self.backend.as_deref().map(str::trim) {
            None | Some("") => BackendKind::default(),
            Some(name) => name.parse()?,
        })
    }
}

/// kiln: the applied side of neural-network training, on Burn.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Segmentation-metric losses: soft IoU, Dice and relatives.
    Losses(commands::losses::Args),
    /// Normalization at batch size 2: BatchNorm vs GroupNorm.
    Norm(commands::norm::Args),
    /// CTC loss and decoding.
    Ctc(commands::ctc::Args),
    /// Physics-informed neural network solvers.
    Pinn(commands::pinn::Args),
    /// Network motifs of weight graphs (plain Rust, no tensors: --backend is ignored).
    Motifs(commands::motifs::Args),
    /// DP-SGD and (epsilon, delta) accounting.
    Privacy(commands::privacy::Args),
    /// Concept-drift detection on loss streams.
    Drift(commands::drift::Args),
    /// Training dynamics: symmetry breaking, min-max games, mechanistic vs learned OOD.
    /// Training dynamics experiments.
    Dynamics(commands::dynamics::Args),
    /// Run the experiments behind each area and write a report with plots.
    Reproduce(commands::reproduce::Args),
    /// List the backends compiled into this build and check that each starts.
    Backends,
}

/// Runs the program on `args` (including the program name), writing to `out` and `err`, and
/// returns the exit code.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let json = args.iter().any(|a| a == "--json");
    let parsed = Cli::command()
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            cli.globals.backend_from_flag = backend_from_flag(&matches);
            cli
        }
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = write!(out, "{e}");
                return 0;
            }
            // clap's own rendering is several lines; the contract is one.
            let msg = e.to_string();
            let line = msg
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_string();
            return fail(&CliError::BadInput(line), json, out, err);
        }
    };
    // A backend named on the command line must exist in every subcommand, tensors or not.
    if cli.globals.backend_from_flag
        && let Err(e) = cli.globals.backend()
    {
        return fail(&e, cli.globals.json, out, err);
    }
    let globals = cli.globals.clone();
    let result = match cli.command {
        Command::Losses(a) => commands::losses::run(&a, &globals),
        Command::Norm(a) => commands::norm::run(&a, &globals),
        Command::Ctc(a) => commands::ctc::run(&a, &globals),
        Command::Pinn(a) => commands::pinn::run(&a, &globals),
        Command::Motifs(a) => commands::motifs::run(&a, &globals),
        Command::Privacy(a) => commands::privacy::run(&a, &globals),
        Command::Drift(a) => commands::drift::run(&a, &globals),
        Command::Dynamics(a) => commands::dynamics::run(&a, &globals),
        Command::Reproduce(a) => commands::reproduce::run(&a, &globals, err),
        Command::Backends => commands::backends::run(&globals),
    };
    match result {
        Ok(output) => {
            let written = if globals.json {
                writeln!(out, "{}", output.json)
            } else {
                write!(out, "{}", output.human).and_then(|_| {
                    if output.human.ends_with('\n') {
                        Ok(())
                    } else {
                        writeln!(out)
                    }
                })
            };
            if written.is_err() { 1 } else { 0 }
        }
        Err(e) => fail(&e, globals.json, out, err),
    }
}

/// Whether `--backend` was given on the command line (of the program or of a subcommand).
fn backend_from_flag(m: &clap::ArgMatches) -> bool {
    let mut cur = Some(m);
    while let Some(m) = cur {
        if m.value_source("backend") == Some(clap::parser::ValueSource::CommandLine) {
            return true;
        }
        cur = m.subcommand().map(|(_, sub)| sub);
    }
    false
}

fn fail(e: &CliError, json: bool, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let line = e.to_string().replace('\n', " ");
    let _ = writeln!(err, "kiln: error: {line}");
    if json {
        let _ = writeln!(out, "{}", serde_json::json!({ "error": line }));
    }
    e.exit_code()
}
