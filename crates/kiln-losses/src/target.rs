//! Targets: a class-index map or a dense (one-hot / soft) tensor, checked once and turned into
//! the dense `[B, C, H, W]` form the losses use ([`PreparedTarget`]).

use kiln_core::burn::tensor::{DType, Device, Tensor, TensorData};
use kiln_core::{KilnError, convert};

use crate::errors::{LossError, Result};
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
    let [b, c, h, w] = dims;
    if b * c * h * w == 0 {
        return Err(KilnError::Empty(format!("logits of shape {dims:?}")).into());
    }
    let hw = h * w;
    let configured = params.target();
    let (y_host, keep) = match (target, configured) {
        (SegTarget::Indices { labels, shape }, TargetKind::Indices) => {
            if *shape != [b, h, w] {
                return Err(KilnError::shape(
                    "class-index target",
                    format!("[{b}, {h}, {w}] (logits [B, C, H, W] = {dims:?})"),
                    format!("{shape:?}"),
                )
                .into());
            }
            if labels.len() != b * hw {
                return Err(
                    KilnError::shape("class-index target values", b * hw, labels.len()).into(),
                );
            }
            one_hot(labels, dims, params.ignore_index())?
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
            (values, vec![true; b * hw])
        }
        (given, _) => {
            return Err(LossError::TargetKindMismatch {
                configured: configured.name(),
                given: given.kind_name(),
            });
        }
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
        keep,
        sums,
        dims,
    })
}

fn one_hot(
    labels: &[i64],
    dims: [usize; 4],
    ignore_index: Option<i64>,
) -> Result<(Vec<f64>, Vec<bool>)> {
    let [b, c, h, w] = dims;
    let hw = h * w;
    let mut y = vec![0.0; b * c * hw];
    let mut keep = vec![true; b * hw];
    for (index, &value) in labels.iter().enumerate() {
        if Some(value) == ignore_index {
            keep[index] = false;
            continue;
        }
        let class =
            usize::try_from(value)
                .ok()
                .filter(|&k| k < c)
                .ok_or(LossError::TargetOutOfRange {
                    index,
                    value,
                    classes: c,
                    ignore_index,
                })?;
        let (image, pixel) = (index / hw, index % hw);
        y[(image * c + class) * hw + pixel] = 1.0;
    }
    Ok((y, keep))
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
