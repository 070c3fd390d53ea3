//! `kiln reproduce`: run the experiments, write `report.md`, `report.json` and one SVG per figure.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use kiln_core::{ExperimentConfig, ExperimentReport, KilnError};
use serde_json::json;

use crate::Globals;
use crate::experiments::{Entry, registry};
use crate::output::{CliError, CmdResult, Output};
use crate::plot::draw_svg;
use crate::progress::Bar;

/// Arguments of `kiln reproduce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiments to run (default: all). `kiln reproduce --list` shows them.
    pub names: Vec<String>,
    /// Directory for report.md, report.json and the SVG plots.
    #[arg(long, default_value = "kiln-report")]
    pub out: PathBuf,
    /// CI-sized runs: fewer steps, same code paths.
    #[arg(long)]
    pub quick: bool,
    /// List the experiments and exit.
    #[arg(long)]
    pub list: bool,
}

struct Done {
    report: ExperimentReport,
    seconds: f64,
    svgs: Vec<String>,
}

fn select(names: &[String]) -> Result<Vec<Entry>, CliError> {
    let mut all = registry();
    if names.is_empty() {
        return Ok(all);
    }
    let known: Vec<&str> = all.iter().map(|e| e.name).collect();
    if let Some(bad) = names.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(CliError::BadInput(format!(
            "unknown experiment `{bad}`; available: {}",
            known.join(", ")
        )));
    }
    all.retain(|e| names.iter().any(|n| n == e.name));
    Ok(all)
}

fn io_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::Internal(
        KilnError::Io {
            path: path.to_path_buf(),
            source,
        }
        .to_string(),
    )
}

/// Runs the subcommand.
pub fn run(args: &Args, globals: &Globals, err: &mut dyn Write) -> CmdResult {
    let entries = select(&args.names)?;
    if args.list {
        let human = entries
            .iter()
            .map(|e| format!("{:<12} {}", e.name, e.about))
            .collect::<Vec<_>>()
            .join("\n");
        let json = json!({ "experiments": entries.iter().map(|e| json!({"name": e.name, "about": e.about})).collect::<Vec<_>>() });
        return Ok(Output::new(json, human));
    }
    let backend = globals.backend()?;
    std::fs::create_dir_all(&args.out).map_err(|e| io_error(&args.out, e))?;

    let mut done = Vec::new();
    let mut failed = Vec::new();
    for entry in &entries {
        let bar = Arc::new(Bar::new(entry.name, globals.quiet || globals.json));
        let config = ExperimentConfig {
            quick: args.quick,
            seed: globals.seed,
            backend,
            progress: bar.clone(),
        };
        let start = Instant::now();
        let outcome = (entry.run)(&config);
        bar.finish();
        match outcome {
            Ok(report) => {
                let mut svgs = Vec::new();
                for fig in &report.figures {
                    let file = format!("{}.svg", fig.name);
                    let path = args.out.join(&file);
                    draw_svg(fig, &path).map_err(|e| CliError::Internal(e.to_string()))?;
                    svgs.push(file);
                }
                done.push(Done {
                    report,
                    seconds: start.elapsed().as_secs_f64(),
                    svgs,
                });
            }
            Err(e) => {
                if !globals.quiet {
                    let _ = writeln!(err, "kiln: experiment `{}` failed: {e}", entry.name);
                }
                failed.push((entry.name.to_string(), e.to_string()));
            }
        }
    }

    let report_md = args.out.join("report.md");
    std::fs::write(
        &report_md,
        markdown(&done, &failed, args.quick, backend, globals.seed),
    )
    .map_err(|e| io_error(&report_md, e))?;
    let report_json = args.out.join("report.json");
    let reports: Vec<_> = done.iter().map(|d| &d.report).collect();
    let text =
        serde_json::to_string_pretty(&reports).map_err(|e| CliError::Internal(e.to_string()))?;
    std::fs::write(&report_json, text).map_err(|e| io_error(&report_json, e))?;

    if !failed.is_empty() {
        let names: Vec<_> = failed.iter().map(|(n, e)| format!("{n} ({e})")).collect();
        return Err(CliError::Internal(format!(
            "{} experiment(s) failed: {}; report written to {}",
            failed.len(),
            names.join("; "),
            report_md.display()
        )));
    }

    let json = json!({
        "out_dir": args.out,
        "report": report_md,
        "quick": args.quick,
        "experiments": done.iter().map(|d| json!({
            "name": d.report.name,
            "title": d.report.title,
            "seconds": d.seconds,
            "metrics": d.report.metrics.iter().map(|m| (m.name.clone(), json!(m.value))).collect::<serde_json::Map<_, _>>(),
            "figures": d.svgs.iter().map(|f| args.out.join(f)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let mut human = String::new();
    for d in &done {
        let _ = writeln!(human, "{} ({:.1} s)", d.report.title, d.seconds);
        for m in &d.report.metrics {
            let _ = writeln!(
                human,
                "  {:<32} {:>14} {}",
                m.name,
                format_value(m.value),
                m.unit
            );
        }
    }
    let _ = write!(human, "report: {}", report_md.display());
    Ok(Output::new(json, human))
}

fn format_value(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        format!("{v:.6}")
    } else {
        format!("{v:.4e}")
    }
}

fn markdown(
    done: &[Done],
    failed: &[(String, String)],
    quick: bool,
    backend: kiln_core::BackendKind,
    seed: u64,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# kiln reproduce report\n");
    let _ = writeln!(
        md,
        "Backend `{}`, seed {}, {} run. Rerun with `kiln reproduce{} --seed {}`.\n",
        backend,
        seed,
        if quick { "quick (CI-sized)" } else { "full" },
        if quick { " --quick" } else { "" },
        seed
    );
    for d in done {
        let r = &d.report;
        let _ = writeln!(md, "## {}\n", r.title);
        let _ = writeln!(md, "`{}` — {:.1} s\n", r.name, d.seconds);
        let _ = writeln!(md, "{}\n", r.summary);
        if !r.metrics.is_empty() {
            let _ = writeln!(
                md,
                "| metric | value | unit | meaning |\n| --- | ---: | --- | --- |"
            );
            for m in &r.metrics {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    m.name,
                    format_value(m.value),
                    m.unit,
                    m.description
                );
            }
            md.push('\n');
        }
        for (fig, file) in r.figures.iter().zip(&d.svgs) {
            let _ = writeln!(md, "![{}]({})\n", fig.title, file);
        }
        for note in &r.notes {
            let _ = writeln!(md, "{note}\n");
        }
    }
    if !failed.is_empty() {
        let _ = writeln!(md, "## Failed experiments\n");
        for (name, e) in failed {
            let _ = writeln!(md, "- `{name}`: {e}");
        }
    }
    md
}
