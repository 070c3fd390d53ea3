//! `kiln losses eval`: kiln-losses' segmentation losses and hard Dice/IoU of `.npy` inputs.

use std::path::{Path, PathBuf};

use kiln_core::burn::tensor::{DType, Device, Tensor, TensorData};
use kiln_core::io::{self, NpyDType};
use kiln_core::{Autodiff, KilnError, Precision, device};
use kiln_losses::{
    Activation, EmptyClass, GdlWeight, LossKind, Reduction, SegLoss, SegLossParams, SegTarget,
    TargetKind, hard_scores,
};
use serde_json::{Value, json};

use crate::Globals;
use crate::output::{CliError, CmdResult, Output};

/// Arguments of `kiln losses`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: LossesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LossesCommand {
    /// Loss of logits against a target, and hard per-class Dice / IoU.
    Eval(EvalArgs),
}

/// Arguments of `kiln losses eval`. Defaults equal MONAI `DiceLoss(softmax=True,
/// to_onehot_y=True)`: softmax, smooth_nr = smooth_dr = 1e-5, mean over (image, class),
/// background included.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Logits [B, C, H, W], or a volume [B, C, D, H, W] (f32 or f64 .npy; the loss runs in
    /// that precision).
    #[arg(long)]
    pred: PathBuf,
    /// Target: a class-index map [B, H, W] / [B, D, H, W] (integer .npy, or float holding
    /// integers), or one-hot / soft labels of the prediction's shape (float .npy; soft if any
    /// value is not 0 or 1).
    #[arg(long)]
    target: PathBuf,
    /// dice, jaccard, tversky, focal-tversky, log-dice, generalized-dice, lovasz (softmax;
    /// with --activation sigmoid: Lovász-hinge), lovasz-hinge, focal, dice-ce, dice-focal.
    #[arg(long, default_value = "dice")]
    loss: String,
    /// softmax (default), sigmoid, or none (the input already holds probabilities).
    #[arg(long, default_value = "softmax")]
    activation: String,
    /// Tversky weight of false positives (default 0.5; focal-tversky 0.3).
    #[arg(long)]
    alpha: Option<f64>,
    /// Tversky weight of false negatives (default 0.5; focal-tversky 0.7).
    #[arg(long)]
    beta: Option<f64>,
    /// Focal exponent (focal, dice-focal: default 2; focal-tversky: default 0.75).
    #[arg(long)]
    gamma: Option<f64>,
    /// per-image (default: mean over (image, class)), batch (counts pooled over the batch),
    /// global (pooled over batch and classes).
    #[arg(long, default_value = "per-image")]
    reduction: String,
    /// Empty-target terms: smoothed (default, MONAI), count-as-one (smp), skip.
    #[arg(long, default_value = "smoothed")]
    empty: String,
    /// Numerator smoothing.
    #[arg(long, default_value_t = 1e-5)]
    smooth_nr: f64,
    /// Denominator smoothing.
    #[arg(long, default_value_t = 1e-5)]
    smooth_dr: f64,
    /// Leave channel 0 (background) out of the loss terms.
    #[arg(long)]
    no_background: bool,
    /// Squared denominators (V-Net).
    #[arg(long)]
    squared: bool,
    /// Label of ignored pixels in a class-index target.
    #[arg(long, allow_hyphen_values = true)]
    ignore_index: Option<i64>,
}

/// Runs the subcommand.
pub fn run(args: &Args, globals: &Globals) -> CmdResult {
    match &args.command {
        LossesCommand::Eval(a) => eval(a, globals),
    }
}

fn loss_kind(a: &EvalArgs, activation: Activation) -> Result<LossKind, CliError> {
    let focal_tversky = a.loss == "focal-tversky";
    let alpha = a.alpha.unwrap_or(if focal_tversky { 0.3 } else { 0.5 });
    let beta = a.beta.unwrap_or(if focal_tversky { 0.7 } else { 0.5 });
    let gamma = a.gamma.unwrap_or(if focal_tversky { 0.75 } else { 2.0 });
    Ok(match a.loss.as_str() {
        "dice" => LossKind::Dice,
        "jaccard" | "iou" => LossKind::Jaccard,
        "tversky" => LossKind::Tversky { alpha, beta },
        "focal-tversky" => LossKind::FocalTversky { alpha, beta, gamma },
        "log-dice" => LossKind::LogDice,
        "generalized-dice" => LossKind::GeneralizedDice {
            weight: GdlWeight::Square,
        },
        "lovasz" if activation == Activation::Sigmoid => LossKind::LovaszHinge,
        "lovasz" => LossKind::LovaszSoftmax,
        "lovasz-hinge" => LossKind::LovaszHinge,
        "focal" => LossKind::Focal { gamma },
        "dice-ce" => LossKind::DiceCe {
            lambda_dice: 1.0,
            lambda_ce: 1.0,
        },
        "dice-focal" => LossKind::DiceFocal {
            lambda_dice: 1.0,
            lambda_focal: 1.0,
            gamma,
        },
        other => {
            return Err(CliError::BadInput(format!(
                "unknown --loss `{other}`: expected dice, jaccard, tversky, focal-tversky, \
                 log-dice, generalized-dice, lovasz, lovasz-hinge, focal, dice-ce or dice-focal"
            )));
        }
    })
}

/// `[B, C, H, W]` as is, or a volume `[B, C, D, H, W]` as the image `[B, C, D*H, W]` (the
/// losses and metrics see pixels only through sums, so the reshape changes nothing).
fn image_dims(shape: &[usize], what: &str) -> Result<[usize; 4], CliError> {
    let bad = || {
        CliError::BadInput(format!(
            "{what} must be [B, C, H, W] or a volume [B, C, D, H, W], got shape {shape:?}"
        ))
    };
    match *shape {
        [b, c, h, w] => Ok([b, c, h, w]),
        [b, c, d, h, w] => Ok([b, c, d.checked_mul(h).ok_or_else(bad)?, w]),
        _ => Err(bad()),
    }
}

/// The target file as the library's target, with the kind it holds: labels of the
/// prediction's shape (`pred_shape`, rank 4 or 5), or a class map with one dimension less.
fn read_target(
    path: &Path,
    pred_shape: &[usize],
    dev: &Device,
    dtype: DType,
) -> Result<(SegTarget, TargetKind), CliError> {
    let pred_rank = pred_shape.len();
    let (labels, shape) = match io::read_npy(path) {
        Ok(a) if a.shape.len() == pred_rank => {
            // A volume's labels must match it axis by axis (the flattened shapes alone would
            // let D and H trade places).
            if pred_rank == 5 && a.shape != pred_shape {
                return Err(CliError::BadInput(format!(
                    "{}: labels of shape {:?} do not match the prediction's {pred_shape:?}",
                    path.display(),
                    a.shape
                )));
            }
            let kind = if a.data.iter().all(|&v| v == 0.0 || v == 1.0) {
                TargetKind::OneHot
            } else {
                TargetKind::Soft
            };
            let t = Tensor::from_data(
                TensorData::new(a.data, image_dims(&a.shape, "target")?),
                (dev, dtype),
            );
            return Ok((SegTarget::dense(t), kind));
        }
        Ok(a) => {
            // A float class map: every value must be an integer.
            let labels = a
                .data
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if v.fract() == 0.0 && v.abs() < 9.0e15 {
                        Ok(v as i64)
                    } else {
                        Err(CliError::BadInput(format!(
                            "{}: class-index target value {v} at index {i} is not an integer",
                            path.display()
                        )))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            (labels, a.shape)
        }
        Err(KilnError::Parse { .. }) => {
            let a = io::read_npy_int(path)?;
            (a.data, a.shape)
        }
        Err(e) => return Err(e.into()),
    };
    let bad = || {
        CliError::BadInput(format!(
            "{}: for a prediction of shape {pred_shape:?} a target must be a class map of that \
             shape without the class axis ([B, H, W] or [B, D, H, W]) or labels of that shape, \
             got shape {shape:?}",
            path.display()
        ))
    };
    // A volume's class map [B, D, H, W] is the image map [B, D*H, W], as for the prediction.
    let shape = match (pred_rank, shape.as_slice()) {
        (4, &[b, h, w]) => [b, h, w],
        (5, &[b, d, h, w]) if [b, d, h, w] == [0, 2, 3, 4].map(|i| pred_shape[i]) => {
            [b, d.checked_mul(h).ok_or_else(bad)?, w]
        }
        _ => return Err(bad()),
    };
    Ok((SegTarget::indices(labels, shape), TargetKind::Indices))
}

fn eval(a: &EvalArgs, globals: &Globals) -> CmdResult {
    let pred = io::read_npy(&a.pred)?;
    let dims = image_dims(&pred.shape, "--pred")?;
    let activation: Activation = a.activation.parse()?;
    let reduction: Reduction = a.reduction.parse()?;
    if reduction == Reduction::None {
        return Err(CliError::BadInput(
            "--reduction must be per-image, batch or global".into(),
        ));
    }
    let empty: EmptyClass = a.empty.parse()?;
    let kind = loss_kind(a, activation)?;
    let dev = device(globals.backend()?, Autodiff::Off, Precision::F32)?;
    let dtype = match pred.dtype {
        NpyDType::F32 => DType::F32,
        NpyDType::F64 => DType::F64,
    };
    let logits: Tensor<4> = Tensor::from_data(TensorData::new(pred.data, dims), (&dev, dtype));
    let (target, target_kind) = read_target(&a.target, &pred.shape, &dev, dtype)?;
    let mut params = SegLossParams::new(kind)
        .activation(activation)
        .target(target_kind)
        .reduction(reduction)
        .empty(empty)
        .smooth_nr(a.smooth_nr)
        .smooth_dr(a.smooth_dr)
        .include_background(!a.no_background)
        .squared(a.squared);
    if let Some(i) = a.ignore_index {
        params = params.ignore_index(i);
    }
    let loss = SegLoss::new(params.check().map_err(KilnError::from)?);
    let value = loss
        .forward(logits.clone(), &target)
        .map_err(KilnError::from)?;
    let value = kiln_core::convert::scalar_f64(&value)?;
    let scores = hard_scores(&loss, &logits, &target).map_err(KilnError::from)?;
    let per_class = scores.per_class();
    let json = json!({
        "loss": value,
        "per_class": per_class
            .iter()
            .map(|c| json!({"class": c.class, "dice": c.dice, "iou": c.iou}))
            .collect::<Vec<Value>>(),
    });
    let fmt = |v: Option<f64>| v.map_or("undefined".to_string(), |x| format!("{x:.6}"));
    let mut human = format!(
        "{} loss ({}, {:?}, reduction {}): {value:.9}\nclass  hard dice  hard IoU (mean over images where defined)\n",
        kind.name(),
        a.activation,
        target_kind,
        a.reduction
    );
    for c in &per_class {
        human.push_str(&format!(
            "{:>5}  {:>9}  {:>8}\n",
            c.class,
            fmt(c.dice),
            fmt(c.iou)
        ));
    }
    Ok(Output::new(json, human))
}
