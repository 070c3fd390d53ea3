//! Targets: a class-index map or a dense (one-hot / soft) tensor, checked once and turned into
//! the dense `[B, C, H, W]` form the losses use ([`PreparedTarget`]).

use kiln_core::burn::tensor::{DType, Device, Tensor, TensorData};
use kiln_core::{KilnError, convert};

use crate::errors::{LossError, Result};
use crate::fused::{HostTarget, ignore_sentinel};
use crate::hyperparams::{SegLossValidParams, TargetKind};

/// A segmentation target as the user has it.
#[derive(Debug, Clone)]
pub enum SegTarget {
    /// A class-index map, row-major `[B, H, W]`.
    Indices {
        /// Labels (`0..C`, or the ignore index).
        labels: Vec<i64>,
        /// `[B, H, W]`.
        shape: [usize; 3],
    },
    /// One-hot or soft labels `[B, C, H, W]` (any float dtype, any device).
    Dense(Box<Tensor<4>>),
}

impl SegTarget {
    /// A class-index map `[B, H, W]` (row-major labels).
    pub fn indices(labels: Vec<i64>, shape: [usize; 3]) -> Self {
        SegTarget::Indices { labels, shape }
    }

    /// A dense `[B, C, H, W]` target (one-hot or soft, as the parameters say).
    pub fn dense(target: Tensor<4>) -> Self {
        SegTarget::Dense(Box::new(target))
    }

    fn kind_name(&self) -> &'static str {
        match self {
            SegTarget::Indices { .. } => "indices",
            SegTarget::Dense(_) => "dense (one-hot or soft)",
        }
    }
}

/// A checked target in dense form, ready for any loss of the same shape, dtype and device.
///
/// Made by [`crate::SegLoss::prepare`]; preparing once and reusing it keeps the host-side checks
/// (label range, value range) out of a training loop.
#[derive(Debug, Clone)]
pub struct PreparedTarget {
    /// `[B, C, H, W]`, ignored pixels zeroed, dtype and device of the logits.
    pub(crate) y: Tensor<4>,
    /// `[B, 1, H, W]` 1 = counted, 0 = ignored; `None` when nothing is ignored.
    pub(crate) mask: Option<Tensor<4>>,
    /// Host copy of `y`, row-major.
    pub(crate) y_host: Vec<f64>,
    /// The checked labels `[B, H, W]` of a class-index target and the label that marks an
    /// ignored pixel (see [`ignore_sentinel`]).
    pub(crate) labels: Option<(Vec<i64>, i64)>,
    /// Host keep-mask per pixel `[B, H, W]`.
    pub(crate) keep: Vec<bool>,
    /// `|y|_1` per (image, class), row-major `[B, C]`.
    pub(crate) sums: Vec<f64>,
    /// `[B, C, H, W]`.
    pub(crate) dims: [usize; 4],
}

impl PreparedTarget {
    /// `[B, C, H, W]`.
    pub fn dims(&self) -> [usize; 4] {
        self.dims
    }

    /// The target as the fused kernels read it.
    pub(crate) fn host(&self) -> HostTarget<'_> {
        match &self.labels {
            Some((labels, ignore)) => HostTarget::Labels {
                labels,
                ignore: *ignore,
            },
            None => HostTarget::Dense(&self.y_host),
        }
    }

    /// `|y|_1` per (image, class), row-major `[B, C]`.
    pub(crate) fn class_sums(&self) -> &[f64] {
        &self.sums
    }

    /// Number of counted pixels per image.
    pub(crate) fn kept_pixels(&self) -> Vec<f64> {
        let [b, _, h, w] = self.dims;
        let hw = h * w;
        (0..b)
            .map(|i| {
                self.keep[i * hw..(i + 1) * hw]
                    .iter()
                    .filter(|k| **k)
                    .count() as f64
            })
            .collect()
    }
}

/// Checks `target` against the logits' `dims` and the parameters, and builds the dense form.
pub(crate) fn prepare(
    params: &SegLossValidParams,
    target: &SegTarget,
    dims: [usize; 4],
    device: &Device,
    dtype: DType,
) -> Result<PreparedTarget> {
    let [b, _, h, w] = dims;
    check_nonempty(dims)?;
    let hw = h * w;
    let configured = params.target();
    let (y_host, keep, labels) = match (target, configured) {
        (SegTarget::Indices { .. }, TargetKind::Indices) => {
            let labels = class_map(params, target, dims)?;
            let (y, keep) = one_hot(labels, dims, params.ignore_index());
            let host = (labels.to_vec(), ignore_sentinel(params.ignore_index()));
            (y, keep, Some(host))
        }
        (SegTarget::Dense(t), TargetKind::OneHot | TargetKind::Soft) => {
            if t.dims() != dims {
                return Err(KilnError::shape(
                    "dense target",
                    format!("{dims:?} (the logits' shape)"),
                    format!("{:?}", t.dims()),
                )
                .into());
            }
            let values = convert::to_vec_f64(t)?;
            check_dense(&values, configured)?;
            (values, vec![true; b * hw], None)
        }
        (given, _) => return Err(kind_mismatch(configured, given)),
    };
    let data = if dtype == DType::F32 {
        TensorData::new(y_host.iter().map(|&v| v as f32).collect::<Vec<f32>>(), dims)
    } else {
        TensorData::new(y_host.clone(), dims)
    };
    let y = Tensor::from_data(data, (device, dtype));
    let mask = if keep.iter().all(|k| *k) {
        None
    } else {
        let m: Vec<f64> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
        Some(Tensor::from_data(
            TensorData::new(m, [b, 1, h, w]),
            (device, dtype),
        ))
    };
    let sums = y_host.chunks(hw).map(|row| row.iter().sum()).collect();
    Ok(PreparedTarget {
        y,
        mask,
        y_host,
        labels,
        keep,
        sums,
        dims,
    })
}

fn check_nonempty(dims: [usize; 4]) -> Result<()> {
    if dims.iter().product::<usize>() == 0 {
        return Err(KilnError::Empty(format!("logits of shape {dims:?}")).into());
    }
    Ok(())
}

fn kind_mismatch(configured: TargetKind, given: &SegTarget) -> LossError {
    LossError::TargetKindMismatch {
        configured: configured.name(),
        given: given.kind_name(),
    }
}

/// Checks a class-index `target` against the logits' `dims` (shape, every label a class or
/// the ignore index) and returns its labels, row-major `[B, H, W]` (the fused path reads them
/// directly instead of a one-hot tensor).
pub(crate) fn class_map<'a>(
    params: &SegLossValidParams,
    target: &'a SegTarget,
    dims: [usize; 4],
) -> Result<&'a [i64]> {
    let [b, c, h, w] = dims;
    check_nonempty(dims)?;
    let (labels, shape) = match (target, params.target()) {
        (SegTarget::Indices { labels, shape }, TargetKind::Indices) => (labels, shape),
        (given, configured) => return Err(kind_mismatch(configured, given)),
    };
    if *shape != [b, h, w] {
        return Err(KilnError::shape(
            "class-index target",
            format!("[{b}, {h}, {w}] (logits [B, C, H, W] = {dims:?})"),
            format!("{shape:?}"),
        )
        .into());
    }
    if labels.len() != b * h * w {
        return Err(KilnError::shape("class-index target values", b * h * w, labels.len()).into());
    }
    let ignore_index = params.ignore_index();
    let classes = i64::try_from(c).unwrap_or(i64::MAX);
    let bad = |&v: &i64| !((0..classes).contains(&v) || Some(v) == ignore_index);
    // One branch-free pass for the common all-valid case; the position only on failure.
    if labels.iter().fold(false, |any, v| any | bad(v)) {
        let index = labels.iter().position(bad).unwrap_or_default();
        return Err(LossError::TargetOutOfRange {
            index,
            value: labels[index],
            classes: c,
            ignore_index,
        });
    }
    Ok(labels)
}

/// One-hot `[B, C, H, W]` and keep-mask `[B, H, W]` of a checked class map.
fn one_hot(labels: &[i64], dims: [usize; 4], ignore_index: Option<i64>) -> (Vec<f64>, Vec<bool>) {
    let [b, c, h, w] = dims;
    let hw = h * w;
    let mut y = vec![0.0; b * c * hw];
    let mut keep = vec![true; b * hw];
    for (index, &label) in labels.iter().enumerate() {
        match usize::try_from(label) {
            Ok(class) if Some(label) != ignore_index && class < c => {
                let (image, pixel) = (index / hw, index % hw);
                y[(image * c + class) * hw + pixel] = 1.0;
            }
            _ => keep[index] = false,
        }
    }
    (y, keep)
}

fn check_dense(values: &[f64], kind: TargetKind) -> Result<()> {
    for (index, &value) in values.iter().enumerate() {
        if !value.is_finite() {
            return Err(KilnError::NonFinite {
                context: "target".into(),
                index: Some(index),
            }
            .into());
        }
        let (ok, kind, rule) = match kind {
            TargetKind::OneHot => (value == 0.0 || value == 1.0, "one-hot", "must be 0 or 1"),
            _ => ((0.0..=1.0).contains(&value), "soft", "must be in [0, 1]"),
        };
        if !ok {
            return Err(LossError::TargetValue {
                kind,
                index,
                value,
                rule,
            });
        }
    }
    Ok(())
}
