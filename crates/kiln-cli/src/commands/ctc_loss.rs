//! `kiln ctc loss`: kiln-ctc's CTC loss (and gradient) of a case file.

use std::path::PathBuf;

use kiln_core::{KilnError, io};
use kiln_ctc::{CtcLoss, CtcLossParams, InputKind, LossValue, Reduction, Targets};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Globals;
use crate::output::{CliError, CmdResult, Output};

/// Arguments of `kiln ctc loss`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Case file (JSON): `logits` ([T,N,C] flattened row-major), `T`, `N`, `C`, `blank`,
    /// `targets` (padded [N][S]), `input_lengths`, `target_lengths`, optional `reduction`
    /// (none|mean|sum, default mean) and `zero_infinity` (default false).
    #[arg(long)]
    input: PathBuf,
    /// Also print the gradient of the loss with respect to the logits (`grad_logits`).
    #[arg(long)]
    grad: bool,
}

#[derive(Debug, Deserialize)]
#[allow(non_snake_case)]
struct Case {
    logits: Vec<f64>,
    T: usize,
    N: usize,
    C: usize,
    #[serde(default)]
    blank: usize,
    targets: Vec<Vec<i64>>,
    input_lengths: Vec<i64>,
    target_lengths: Vec<i64>,
    #[serde(default)]
    reduction: Option<String>,
    #[serde(default)]
    zero_infinity: bool,
}

fn number(v: f64) -> Value {
    // JSON has no infinity: an infeasible sample's +inf loss prints as the string "inf".
    if v.is_finite() {
        json!(v)
    } else if v > 0.0 {
        json!("inf")
    } else {
        json!(v.to_string())
    }
}

/// Runs the subcommand (no tensors, no randomness: `--backend` and `--seed` do not apply).
pub fn run(args: &Args, _globals: &Globals) -> CmdResult {
    let case: Case = io::read_json(&args.input)?;
    let reduction: Reduction = match &case.reduction {
        Some(r) => r.parse()?,
        None => Reduction::Mean,
    };
    let s = case.targets.first().map_or(0, Vec::len);
    if let Some(row) = case.targets.iter().position(|r| r.len() != s) {
        return Err(CliError::BadInput(format!(
            "targets row {row} has {} labels, row 0 has {s}: targets must be padded to one width",
            case.targets[row].len()
        )));
    }
    if case.targets.len() != case.N {
        return Err(KilnError::shape("targets rows", case.N, case.targets.len()).into());
    }
    let labels: Vec<i64> = case.targets.concat();
    let targets = Targets::padded(labels, s, case.target_lengths.clone());
    let loss = CtcLoss::new(
        CtcLossParams::new()
            .blank(case.blank)
            .reduction(reduction)
            .zero_infinity(case.zero_infinity)
            .input(InputKind::Logits)
            .check()?,
    );
    let out = loss.compute(
        &case.logits,
        [case.T, case.N, case.C],
        &targets,
        &case.input_lengths,
        args.grad,
    )?;
    let loss_json = match &out.loss {
        LossValue::PerSample(v) => Value::Array(v.iter().map(|&x| number(x)).collect()),
        LossValue::Scalar(x) => number(*x),
    };
    let mut obj = json!({ "loss": loss_json, "feasible": out.feasible });
    let mut human = match &out.loss {
        LossValue::PerSample(v) => format!("CTC loss per sample: {v:?}"),
        LossValue::Scalar(x) => format!("CTC loss ({reduction:?}): {x}"),
    };
    if let (Some(max), Some(g)) = (out.max_abs_grad(), out.grad) {
        human.push_str(&format!(
            "\ngradient w.r.t. logits: {} values, max |g| = {max:.6e}",
            g.len()
        ));
        obj["grad_logits"] = json!(g);
    }
    Ok(Output::new(obj, human))
}
