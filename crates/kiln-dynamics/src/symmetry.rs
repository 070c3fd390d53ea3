//! Symmetry breaking at initialization: how redundant the neurons of a layer are.
//!
//! A hidden neuron `j` is described by everything that is specific to it: its incoming weights
//! (row `j` of the PyTorch-layout weight, column `j` of Burn's `[in, out]` weight), its bias,
//! and its outgoing weights (column `j` of the next layer's PyTorch-layout weight). Two neurons
//! whose vectors are identical compute the same activation and receive the same gradient, so
//! gradient descent keeps them identical forever; only a difference at initialization breaks
//! the tie. [`redundancy`] measures the pairwise distances and the numerical rank of a
//! [`NeuronMatrix`]; [`check_init`] flags a symmetric initialization before training;
//! [`compare_initializers`] draws layers with Burn's [`Initializer`]s and measures each.

use kiln_core::KilnError;
use kiln_core::burn::nn::{Initializer, Linear, LinearConfig};
use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::convert;
use serde::Serialize;

use crate::errors::{DynamicsError, Result};
use crate::hyperparams::RedundancyValidParams;
use crate::linalg::singular_values;

/// One vector per neuron, stored row-major (`neurons x width`), finite, checked once.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronMatrix {
    neurons: usize,
    width: usize,
    values: Vec<f64>,
}

impl NeuronMatrix {
    /// One row per neuron: `values.len()` must be `neurons * width`, all finite.
    pub fn from_rows(values: Vec<f64>, neurons: usize) -> Result<Self> {
        if neurons == 0 || values.is_empty() {
            return Err(KilnError::Empty("neuron matrix".into()).into());
        }
        if !values.len().is_multiple_of(neurons) {
            return Err(KilnError::shape(
                "neuron matrix",
                format!("a multiple of {neurons} values (one row per neuron)"),
                values.len(),
            )
            .into());
        }
        kiln_core::errors::ensure_finite(&values, "neuron matrix")?;
        Ok(Self {
            width: values.len() / neurons,
            neurons,
            values,
        })
    }

    /// The output neurons of a Burn [`Linear`] layer: row `j` = column `j` of the `[in, out]`
    /// weight followed by bias `j` (when the layer has one).
    pub fn incoming(layer: &Linear) -> Result<Self> {
        let [fan_in, out] = layer.weight.val().dims();
        let w = convert::to_vec_f64(&layer.weight.val())?;
        let b = match &layer.bias {
            Some(b) => Some(convert::to_vec_f64(&b.val())?),
            None => None,
        };
        let mut values = Vec::with_capacity(out * (fan_in + 1));
        for j in 0..out {
            values.extend((0..fan_in).map(|i| w[i * out + j]));
            if let Some(b) = &b {
                values.push(b[j]);
            }
        }
        Self::from_rows(values, out)
    }

    /// The hidden units between `first` and `second` (`first` -> activation -> `second`):
    /// row `j` = incoming weights and bias of unit `j` in `first`, then its outgoing weights
    /// (row `j` of `second`'s `[in, out]` weight). This is the vector whose equality across two
    /// units makes them indistinguishable to gradient descent.
    pub fn hidden_units(first: &Linear, second: &Linear) -> Result<Self> {
        let incoming = Self::incoming(first)?;
        let [hidden, out] = second.weight.val().dims();
        if hidden != incoming.neurons {
            return Err(KilnError::shape(
                "hidden_units: second layer's fan-in",
                incoming.neurons,
                hidden,
            )
            .into());
        }
        let w2 = convert::to_vec_f64(&second.weight.val())?;
        let mut values = Vec::with_capacity(hidden * (incoming.width + out));
        for j in 0..hidden {
            values.extend_from_slice(incoming.row(j));
            values.extend_from_slice(&w2[j * out..(j + 1) * out]);
        }
        Self::from_rows(values, hidden)
    }

    /// The gradients of a Burn `[in, out]` weight tensor arranged one row per output neuron
    /// (for the rank of the gradients).
    pub fn from_burn_weight(weight: &Tensor<2>) -> Result<Self> {
        let [fan_in, out] = weight.dims();
        let w = convert::to_vec_f64(weight)?;
        let values = (0..out)
            .flat_map(|j| (0..fan_in).map(move |i| (i, j)))
            .map(|(i, j)| w[i * out + j])
            .collect();
        Self::from_rows(values, out)
    }

    /// Number of neurons (rows).
    pub fn neurons(&self) -> usize {
        self.neurons
    }

    /// Length of each neuron's vector.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Row `j`.
    pub(crate) fn row(&self, j: usize) -> &[f64] {
        &self.values[j * self.width..(j + 1) * self.width]
    }
}

/// How redundant a layer's neurons are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Redundancy {
    /// Number of neurons.
    pub neurons: usize,
    /// Smallest Euclidean distance between two neuron vectors (0: two are identical).
    pub min_distance: f64,
    /// Mean pairwise distance.
    pub mean_distance: f64,
    /// Largest pairwise distance (0: all neurons identical).
    pub max_distance: f64,
    /// Pairs whose vectors are equal bit for bit.
    pub identical_pairs: usize,
    /// The first identical pair, if any.
    pub first_identical: Option<(usize, usize)>,
    /// Number of singular values above the tolerance (1 for distinct-free non-zero rows, 0
    /// for an all-zero matrix).
    pub rank: usize,
    /// Singular values, decreasing.
    pub singular_values: Vec<f64>,
}

/// Pairwise distances and numerical rank of the neuron vectors `m`.
pub fn redundancy(m: &NeuronMatrix, params: &RedundancyValidParams) -> Redundancy {
    let n = m.neurons;
    let (mut min, mut max, mut sum, mut pairs) = (f64::INFINITY, 0.0f64, 0.0, 0usize);
    let mut identical = 0;
    let mut first = None;
    for a in 0..n {
        for b in a + 1..n {
            let (ra, rb) = (m.row(a), m.row(b));
            let d = ra
                .iter()
                .zip(rb)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt();
            if ra.iter().zip(rb).all(|(x, y)| x.to_bits() == y.to_bits()) {
                identical += 1;
                first.get_or_insert((a, b));
            }
            min = min.min(d);
            max = max.max(d);
            sum += d;
            pairs += 1;
        }
    }
    let sv = singular_values(&m.values, m.neurons, m.width);
    let top = sv.first().copied().unwrap_or(0.0);
    let tol = params.rank_rtol(m.neurons, m.width) * top;
    let rank = sv.iter().filter(|&&s| s > tol && s > 0.0).count();
    Redundancy {
        neurons: n,
        min_distance: if pairs == 0 { 0.0 } else { min },
        mean_distance: if pairs == 0 { 0.0 } else { sum / pairs as f64 },
        max_distance: max,
        identical_pairs: identical,
        first_identical: first,
        rank,
        singular_values: sv,
    }
}

/// What [`check_init`] found about a layer before training.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitCheck {
    /// Layer name given by the caller.
    pub layer: String,
    /// The measurements.
    pub redundancy: Redundancy,
    /// Whether some neurons are bit-identical: gradient descent can never separate them.
    pub symmetric: bool,
}

impl InitCheck {
    /// `Ok(())` when no two neurons are identical, else [`DynamicsError::SymmetricInit`].
    pub fn ensure_broken(&self) -> Result<()> {
        match self.redundancy.first_identical {
            Some((first, second)) => Err(DynamicsError::SymmetricInit {
                layer: self.layer.clone(),
                first,
                second,
                identical_pairs: self.redundancy.identical_pairs,
                rank: self.redundancy.rank,
                neurons: self.redundancy.neurons,
            }),
            None => Ok(()),
        }
    }
}

/// Checks a layer before training: symmetric when two neurons are bit-identical (they would
/// get identical gradients at every step).
pub fn check_init(layer: &str, m: &NeuronMatrix, params: &RedundancyValidParams) -> InitCheck {
    let redundancy = redundancy(m, params);
    InitCheck {
        layer: layer.to_string(),
        symmetric: redundancy.identical_pairs > 0,
        redundancy,
    }
}

/// Statistics of one initializer on one layer shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitializerStats {
    /// Name given by the caller.
    pub name: String,
    /// Standard deviation of the weights drawn.
    pub weight_std: f64,
    /// Redundancy of the layer's output neurons (incoming weights, no bias).
    pub redundancy: Redundancy,
    /// Whether [`check_init`] flags it.
    pub symmetric: bool,
}

/// A layer shape: `fan_in` inputs, `fan_out` output neurons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayerShape {
    /// Inputs.
    pub fan_in: usize,
    /// Outputs (neurons).
    pub fan_out: usize,
}

/// Draws one `fan_in -> fan_out` Burn [`Linear`] layer per named initializer (through
/// `LinearConfig::with_initializer`, so Xavier and Kaiming see the layer's fans) and measures
/// it. Burn's RNG on `device` must be seeded by the caller for reproducible draws.
pub fn compare_initializers(
    initializers: &[(&str, Initializer)],
    shape: LayerShape,
    params: &RedundancyValidParams,
    device: &Device,
) -> Result<Vec<InitializerStats>> {
    if shape.fan_in == 0 || shape.fan_out < 2 {
        return Err(DynamicsError::invalid(
            "layer shape",
            format!("{}x{}", shape.fan_in, shape.fan_out),
            "need fan_in >= 1 and at least 2 neurons",
        ));
    }
    initializers
        .iter()
        .map(|(name, init)| {
            let layer = LinearConfig::new(shape.fan_in, shape.fan_out)
                .with_bias(false)
                .with_initializer(init.clone())
                .init(device);
            let m = NeuronMatrix::incoming(&layer)?;
            let w = &m.values;
            let mean = w.iter().sum::<f64>() / w.len() as f64;
            let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / w.len() as f64;
            let check = check_init(name, &m, params);
            Ok(InitializerStats {
                name: name.to_string(),
                weight_std: var.sqrt(),
                symmetric: check.symmetric,
                redundancy: check.redundancy,
            })
        })
        .collect()
}

/// The initializers compared by the experiment: constant, Xavier/Glorot uniform and normal,
/// He/Kaiming uniform and normal (gain sqrt(2), for ReLU; PyTorch's `kaiming_*_` default),
/// orthogonal (Saxe et al. 2013), all Burn's own.
pub fn standard_initializers(constant: f64) -> Vec<(&'static str, Initializer)> {
    let he = std::f64::consts::SQRT_2;
    vec![
        ("constant", Initializer::Constant { value: constant }),
        ("xavier_uniform", Initializer::XavierUniform { gain: 1.0 }),
        ("xavier_normal", Initializer::XavierNormal { gain: 1.0 }),
        (
            "kaiming_uniform",
            Initializer::KaimingUniform {
                gain: he,
                fan_out_only: false,
            },
        ),
        (
            "kaiming_normal",
            Initializer::KaimingNormal {
                gain: he,
                fan_out_only: false,
            },
        ),
        ("orthogonal", Initializer::Orthogonal { gain: 1.0 }),
    ]
}
