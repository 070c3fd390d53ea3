//! The networks a PINN trains: plain MLP, MLP on Fourier features, and the modified MLP of
//! Wang, Teng & Perdikaris (2021), all over one flat parameter vector.
//!
//! Parameters live in one flat vector so that L-BFGS, Adam and `grad_check` all see the same
//! thing; layers are `narrow` + `reshape` views of it, so one backward pass gives the flat
//! gradient directly.

use std::f64::consts::TAU;
use std::sync::Arc;

use kiln_core::Precision;
use kiln_core::burn::tensor::{Device, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::dual::Dual2;
use crate::errors::Result;
use crate::jet::{Channels, Jet};

/// Which network family.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Fully connected layers.
    #[default]
    Mlp,
    /// An MLP on random Fourier features `[sin(2 pi x B), cos(2 pi x B)]`, `B ~ N(0, sigma^2)`.
    Fourier {
        /// Number of frequencies (the embedding has twice as many features).
        features: usize,
        /// Standard deviation of the frequencies.
        sigma: f64,
    },
    /// Modified MLP: two encoders `U`, `V` gate every hidden layer, `h <- (1 - z) U + z V`.
    Modified,
}

#[derive(Debug, Clone, Copy)]
struct Dense {
    offset: usize,
    fan_in: usize,
    fan_out: usize,
}

impl Dense {
    fn weight(&self, theta: &Tensor<1>) -> Tensor<2> {
        theta
            .clone()
            .narrow(0, self.offset, self.fan_in * self.fan_out)
            .reshape([self.fan_in, self.fan_out])
    }

    fn bias(&self, theta: &Tensor<1>) -> Tensor<2> {
        theta
            .clone()
            .narrow(0, self.offset + self.fan_in * self.fan_out, self.fan_out)
            .reshape([1, self.fan_out])
    }

    fn size(&self) -> usize {
        self.fan_in * self.fan_out + self.fan_out
    }
}

/// A network shape: input scaling, embedding, layers and their offsets in the flat vector.
#[derive(Debug, Clone)]
pub struct Network {
    architecture: Architecture,
    activation: Activation,
    input_dim: usize,
    output_dim: usize,
    lo: Vec<f64>,
    hi: Vec<f64>,
    frequencies: Vec<f64>,
    layers: Vec<Dense>,
    encoders: Option<(Dense, Dense)>,
    n_params: usize,
}

impl Network {
    /// A network for inputs in the box `[lo, hi]` (scaled to `[-1, 1]` inside) with `hidden`
    /// layer widths. `rng` draws the Fourier frequencies, if any.
    pub fn new(
        architecture: Architecture,
        activation: Activation,
        lo: &[f64],
        hi: &[f64],
        hidden: &[usize],
        output_dim: usize,
        rng: &mut impl Rng,
    ) -> Network {
        let input_dim = lo.len();
        let (embed_dim, frequencies) = match architecture {
            Architecture::Fourier { features, sigma } => {
                let b = (0..input_dim * features)
                    .map(|_| sigma * crate::sampling::normal(rng))
                    .collect();
                (2 * features, b)
            }
            _ => (input_dim, Vec::new()),
        };
        let mut offset = 0;
        let mut dense = |fan_in, fan_out| {
            let d = Dense {
                offset,
                fan_in,
                fan_out,
            };
            offset += d.size();
            d
        };
        let encoders = matches!(architecture, Architecture::Modified).then(|| {
            let w = hidden[0];
            (dense(embed_dim, w), dense(embed_dim, w))
        });
        let mut layers = Vec::new();
        let mut fan_in = embed_dim;
        for &w in hidden {
            layers.push(dense(fan_in, w));
            fan_in = w;
        }
        layers.push(dense(fan_in, output_dim));
        Network {
            architecture,
            activation,
            input_dim,
            output_dim,
            lo: lo.to_vec(),
            hi: hi.to_vec(),
            frequencies,
            layers,
            encoders,
            n_params: offset,
        }
    }

    /// Number of trainable parameters.
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// Input dimension.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Output dimension.
    pub fn output_dim(&self) -> usize {
        self.output_dim
    }

    /// The activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Glorot-normal weights, zero biases.
    pub fn init(&self, rng: &mut impl Rng) -> Vec<f64> {
        let mut theta = vec![0.0; self.n_params];
        let all = self
            .layers
            .iter()
            .chain(self.encoders.iter().flat_map(|(u, v)| [u, v].into_iter()));
        for d in all {
            let std = (2.0 / (d.fan_in + d.fan_out) as f64).sqrt();
            for w in &mut theta[d.offset..d.offset + d.fan_in * d.fan_out] {
                *w = std * crate::sampling::normal(rng);
            }
        }
        theta
    }

    /// The embedding of one point as host jets: scaled to `[-1, 1]`, then Fourier features.
    fn embed_point(&self, x: &[f64]) -> Vec<Dual2> {
        let scaled: Vec<Dual2> = Dual2::vars(x)
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let half = 0.5 * (self.hi[i] - self.lo[i]);
                let mid = 0.5 * (self.hi[i] + self.lo[i]);
                (v - mid) * (1.0 / half)
            })
            .collect();
        match self.architecture {
            Architecture::Fourier { features, .. } => {
                let angles: Vec<Dual2> = (0..features)
                    .map(|k| {
                        let mut a = Dual2::constant(0.0);
                        for (i, s) in scaled.iter().enumerate() {
                            a = a + *s * (TAU * self.frequencies[i * features + k]);
                        }
                        a
                    })
                    .collect();
                angles
                    .iter()
                    .map(|a| a.sin())
                    .chain(angles.iter().map(|a| a.cos()))
                    .collect()
            }
            _ => scaled,
        }
    }

    /// The layers as the fused engine sees them; `None` for the modified MLP (its gates are
    /// not a plain stack of dense layers).
    pub(crate) fn fused(&self) -> Option<crate::fused::FusedNet> {
        if self.encoders.is_some() {
            return None;
        }
        Some(crate::fused::FusedNet {
            layers: self
                .layers
                .iter()
                .map(|d| crate::fused::Layer {
                    offset: d.offset,
                    fan_in: d.fan_in,
                    fan_out: d.fan_out,
                })
                .collect(),
            activation: self.activation,
            outputs: self.output_dim,
            n_params: self.n_params,
        })
    }

    /// Host values of the embedded input jets of `points`, `[n][blocks][embed]`, and the
    /// embedding width.
    pub(crate) fn embed_host(&self, channels: &Channels, points: &[f64]) -> (Vec<f64>, usize) {
        let q: Vec<Vec<Dual2>> = points
            .chunks(self.input_dim)
            .map(|x| self.embed_point(x))
            .collect();
        let width = q.first().map_or(0, Vec::len);
        (crate::fused::host_blocks(&q, channels), width)
    }

    /// The embedded input jet of `points` (row-major, `n x input_dim`).
    pub fn input_jet(
        &self,
        channels: Arc<Channels>,
        points: &[f64],
        precision: Precision,
        device: &Device,
    ) -> Result<Jet> {
        if !points.len().is_multiple_of(self.input_dim) {
            return Err(kiln_core::KilnError::shape(
                "points",
                format!("a multiple of {}", self.input_dim),
                points.len(),
            )
            .into());
        }
        let q: Vec<Vec<Dual2>> = points
            .chunks(self.input_dim)
            .map(|x| self.embed_point(x))
            .collect();
        Jet::from_duals(channels, &q, precision, device)
    }

    /// Pushes an input jet through the network with parameters `theta`.
    pub fn forward(&self, theta: &Tensor<1>, input: &Jet) -> Jet {
        let act = self.activation;
        let (last, hidden) = self.layers.split_last().expect("at least one layer");
        match self.encoders {
            None => {
                let mut h = input.clone();
                for d in hidden {
                    h = h.dense(d.weight(theta), d.bias(theta), act);
                }
                h.linear(last.weight(theta), last.bias(theta))
            }
            Some((eu, ev)) => {
                let u = input.dense(eu.weight(theta), eu.bias(theta), act);
                let v = input.dense(ev.weight(theta), ev.bias(theta), act);
                let v_minus_u = v.sub(&u);
                let (first, rest) = hidden.split_first().expect("at least one hidden layer");
                let mut h = input.dense(first.weight(theta), first.bias(theta), act);
                for d in rest {
                    let z = h.dense(d.weight(theta), d.bias(theta), act);
                    h = u.add(&z.mul(&v_minus_u));
                }
                h.linear(last.weight(theta), last.bias(theta))
            }
        }
    }
}
