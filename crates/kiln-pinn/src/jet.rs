//! Derivative jets: values and input derivatives pushed forward through a network.
//!
//! Burn has first-order autodiff only, so second derivatives of the network output with
//! respect to its inputs are carried forward instead. A [`Jet`] stacks its derivative channels
//! along the batch axis — block 0 holds values, then one block per first derivative, then one
//! per second derivative — so a linear layer is one matmul for all channels:
//! `z = hW + b`, `z' = h'W`, `z'' = h''W`. An activation `f` maps
//! `h = f(z)`, `h_i = f'(z) z_i`, `h_ij = f''(z) z_i z_j + f'(z) z_ij`.
//! One ordinary backward pass through all of this gives the parameter gradient of any loss
//! built from the channels.

use std::collections::BTreeSet;
use std::sync::Arc;

use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::{Precision, convert};

use crate::activation::Activation;
use crate::dual::{Dual2, MAX_DIM};
use crate::errors::{PinnError, Result};

/// Which input derivatives a computation needs. Only these channels are built.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Needs {
    first: BTreeSet<usize>,
    second: BTreeSet<(usize, usize)>,
}

impl Needs {
    /// Values only.
    pub fn values() -> Self {
        Self::default()
    }

    /// Adds `d/dx_i`.
    pub fn d(mut self, i: usize) -> Self {
        self.first.insert(i);
        self
    }

    /// Adds `d2/dx_i dx_j` (and the first derivatives it is built from).
    pub fn d2(mut self, i: usize, j: usize) -> Self {
        let (a, b) = if i <= j { (i, j) } else { (j, i) };
        self.first.insert(a);
        self.first.insert(b);
        self.second.insert((a, b));
        self
    }

    /// Adds every `d2/dx_i^2` of `axes` (the Laplacian over them).
    pub fn laplacian(mut self, axes: &[usize]) -> Self {
        for &i in axes {
            self = self.d2(i, i);
        }
        self
    }

    /// The channel layout these needs produce for inputs of dimension `dim`.
    pub fn channels(&self, dim: usize) -> Result<Channels> {
        let max = self
            .first
            .iter()
            .copied()
            .chain(self.second.iter().map(|p| p.1))
            .max();
        if let Some(m) = max
            && m >= dim
        {
            return Err(PinnError::MissingChannel(format!(
                "d/dx_{m} of a {dim}-dimensional input"
            )));
        }
        Ok(Channels {
            dim,
            first: self.first.iter().copied().collect(),
            second: self.second.iter().copied().collect(),
        })
    }
}

/// The layout of a jet's blocks: values, the first derivatives, the second derivatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    dim: usize,
    first: Vec<usize>,
    second: Vec<(usize, usize)>,
}

impl Channels {
    /// Values only, for `dim` inputs.
    pub fn values(dim: usize) -> Self {
        Self {
            dim,
            first: Vec::new(),
            second: Vec::new(),
        }
    }

    /// Number of blocks.
    pub fn count(&self) -> usize {
        1 + self.first.len() + self.second.len()
    }

    /// Number of first-derivative blocks.
    pub fn first_len(&self) -> usize {
        self.first.len()
    }

    /// The `(i, j)` pairs of the second-derivative blocks, in block order.
    pub fn second_pairs(&self) -> &[(usize, usize)] {
        &self.second
    }

    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Block index of `d/dx_i`.
    pub fn first_block(&self, i: usize) -> Option<usize> {
        self.first.iter().position(|&k| k == i).map(|p| 1 + p)
    }

    /// Block index of `d2/dx_i dx_j`.
    pub fn second_block(&self, i: usize, j: usize) -> Option<usize> {
        let key = if i <= j { (i, j) } else { (j, i) };
        self.second
            .iter()
            .position(|&k| k == key)
            .map(|p| 1 + self.first.len() + p)
    }

    /// Host values of every block for one [`Dual2`] quantity, in block order.
    pub fn from_dual(&self, d: &Dual2) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.count());
        out.push(d.v);
        out.extend(self.first.iter().map(|&i| d.g[i]));
        out.extend(self.second.iter().map(|&(i, j)| d.h[i][j]));
        out
    }
}

/// Builds a `[rows, cols]` tensor of `precision` from row-major host values.
pub fn host_tensor(
    values: &[f64],
    rows: usize,
    cols: usize,
    precision: Precision,
    device: &Device,
) -> Result<Tensor<2>> {
    Ok(match precision {
        Precision::F64 => convert::tensor_f64(values, [rows, cols], device)?,
        Precision::F32 => {
            let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
            convert::tensor_f32(&v, [rows, cols], device)?
        }
    })
}

/// A batch of `n` points carried with the derivative channels of [`Channels`].
///
/// `stacked` has shape `[channels.count() * n, width]`; block `c` is rows `c*n .. (c+1)*n`.
#[derive(Debug, Clone)]
pub struct Jet {
    /// The channel layout.
    pub channels: Arc<Channels>,
    /// Points in the batch.
    pub n: usize,
    /// All blocks, stacked along the batch axis.
    pub stacked: Tensor<2>,
}

impl Jet {
    /// A constant jet from host quantities: `quantities[p][k]` is output `k` at point `p`.
    pub fn from_duals(
        channels: Arc<Channels>,
        quantities: &[Vec<Dual2>],
        precision: Precision,
        device: &Device,
    ) -> Result<Jet> {
        let n = quantities.len();
        let width = quantities.first().map_or(0, Vec::len);
        let c = channels.count();
        let mut host = vec![0.0; c * n * width];
        for (p, row) in quantities.iter().enumerate() {
            if row.len() != width {
                return Err(kiln_core::KilnError::shape("jet quantities", width, row.len()).into());
            }
            for (k, d) in row.iter().enumerate() {
                for (b, v) in channels.from_dual(d).into_iter().enumerate() {
                    host[(b * n + p) * width + k] = v;
                }
            }
        }
        let stacked = host_tensor(&host, c * n, width, precision, device)?;
        Ok(Jet {
            channels,
            n,
            stacked,
        })
    }

    /// The input jet of `points` (row-major, `n x dim`): `x`, `dx/dx_i = e_i`, zero Hessian.
    pub fn inputs(
        channels: Arc<Channels>,
        points: &[f64],
        precision: Precision,
        device: &Device,
    ) -> Result<Jet> {
        let dim = channels.dim();
        if dim == 0 || dim > MAX_DIM || !points.len().is_multiple_of(dim) {
            return Err(kiln_core::KilnError::shape(
                "points",
                format!("a multiple of dim {dim} (dim <= {MAX_DIM})"),
                points.len(),
            )
            .into());
        }
        let q: Vec<Vec<Dual2>> = points.chunks(dim).map(Dual2::vars).collect();
        Jet::from_duals(channels, &q, precision, device)
    }

    /// Block `c`, shape `[n, width]`.
    pub fn block(&self, c: usize) -> Tensor<2> {
        self.stacked.clone().narrow(0, c * self.n, self.n)
    }

    /// The value block.
    pub fn value(&self) -> Tensor<2> {
        self.block(0)
    }

    fn rebuild(&self, stacked: Tensor<2>) -> Jet {
        Jet {
            channels: self.channels.clone(),
            n: self.n,
            stacked,
        }
    }

    fn with_blocks(&self, blocks: Vec<Tensor<2>>) -> Jet {
        self.rebuild(if blocks.len() == 1 {
            blocks.into_iter().next().expect("one block")
        } else {
            Tensor::cat(blocks, 0)
        })
    }

    /// `z = hW (+ b on the value block only)`; `bias` has shape `[1, out]`.
    pub fn linear(&self, weight: Tensor<2>, bias: Tensor<2>) -> Jet {
        let z = self.stacked.clone().matmul(weight);
        if self.channels.count() == 1 {
            return self.rebuild(z + bias);
        }
        let n = self.n;
        let rest = z.clone().narrow(0, n, z.dims()[0] - n);
        let value = z.narrow(0, 0, n) + bias;
        self.rebuild(Tensor::cat(vec![value, rest], 0))
    }

    /// `z W + b` followed by `act`, fused so the value block is split once.
    pub fn dense(&self, weight: Tensor<2>, bias: Tensor<2>, act: Activation) -> Jet {
        let z = self.stacked.clone().matmul(weight);
        let n = self.n;
        let z0 = z.clone().narrow(0, 0, n) + bias;
        self.activate_parts(z0, z, act)
    }

    /// Applies `act` elementwise with the chain rule to second order.
    pub fn activate(&self, act: Activation) -> Jet {
        let z0 = self.value();
        self.activate_parts(z0, self.stacked.clone(), act)
    }

    fn activate_parts(&self, z0: Tensor<2>, z: Tensor<2>, act: Activation) -> Jet {
        let n = self.n;
        let nf = self.channels.first.len();
        let ns = self.channels.second.len();
        let a = act.eval(z0, ns > 0);
        let mut blocks = vec![a.value];
        if nf > 0 {
            let zf = z.clone().narrow(0, n, nf * n);
            let s1 = if nf == 1 {
                a.d1.clone()
            } else {
                a.d1.clone().repeat_dim(0, nf)
            };
            blocks.push(zf * s1);
        }
        if ns > 0 {
            let s2 = a.d2.expect("second derivative requested");
            let first = |i: usize| {
                let b = self.channels.first_block(i).expect("first of a second");
                z.clone().narrow(0, b * n, n)
            };
            let prods: Vec<Tensor<2>> = self
                .channels
                .second
                .iter()
                .map(|&(i, j)| {
                    if i == j {
                        first(i).square()
                    } else {
                        first(i) * first(j)
                    }
                })
                .collect();
            let prods = if ns == 1 {
                prods.into_iter().next().expect("one")
            } else {
                Tensor::cat(prods, 0)
            };
            let zs = z.narrow(0, (1 + nf) * n, ns * n);
            let (s1, s2) = if ns == 1 {
                (a.d1, s2)
            } else {
                (a.d1.repeat_dim(0, ns), s2.repeat_dim(0, ns))
            };
            blocks.push(prods * s2 + zs * s1);
        }
        self.with_blocks(blocks)
    }

    /// Sum of two jets with the same layout.
    pub fn add(&self, other: &Jet) -> Jet {
        self.rebuild(self.stacked.clone() + other.stacked.clone())
    }

    /// Difference of two jets with the same layout.
    pub fn sub(&self, other: &Jet) -> Jet {
        self.rebuild(self.stacked.clone() - other.stacked.clone())
    }

    /// Elementwise product with the product rule to second order.
    pub fn mul(&self, other: &Jet) -> Jet {
        let a0 = self.value();
        let b0 = other.value();
        let ch = &self.channels;
        let mut blocks = vec![a0.clone() * b0.clone()];
        for &i in &ch.first {
            let b = ch.first_block(i).expect("own channel");
            blocks.push(self.block(b) * b0.clone() + a0.clone() * other.block(b));
        }
        for &(i, j) in &ch.second {
            let s = ch.second_block(i, j).expect("own channel");
            let bi = ch.first_block(i).expect("first of a second");
            let bj = ch.first_block(j).expect("first of a second");
            blocks.push(
                self.block(s) * b0.clone()
                    + self.block(bi) * other.block(bj)
                    + self.block(bj) * other.block(bi)
                    + a0.clone() * other.block(s),
            );
        }
        self.with_blocks(blocks)
    }

    /// Output component `k` of block `c`, shape `[n, 1]`.
    pub fn component(&self, c: usize, k: usize) -> Tensor<2> {
        self.block(c).narrow(1, k, 1)
    }
}
