//! The operator layer: named derivatives of the network output, read off a [`Jet`].

use kiln_core::Precision;
use kiln_core::burn::tensor::{Device, Tensor};

use crate::errors::{PinnError, Result};
use crate::jet::{Jet, host_tensor};

/// The network output at collocation points with the derivatives a residual asked for.
///
/// Every accessor returns a `[n, 1]` tensor; asking for a derivative that was not in the
/// problem's [`Needs`](crate::Needs) is a [`PinnError::MissingChannel`], not a silent zero.
pub struct Fields<'a> {
    jet: &'a Jet,
    points: &'a [f64],
    time_axis: Option<usize>,
    precision: Precision,
    device: &'a Device,
}

impl<'a> Fields<'a> {
    /// Wraps an output jet evaluated at `points` (row-major).
    pub fn new(
        jet: &'a Jet,
        points: &'a [f64],
        time_axis: Option<usize>,
        precision: Precision,
        device: &'a Device,
    ) -> Self {
        Self {
            jet,
            points,
            time_axis,
            precision,
            device,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.jet.n
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.jet.n == 0
    }

    /// Output component `k`.
    pub fn u(&self, k: usize) -> Tensor<2> {
        self.jet.component(0, k)
    }

    /// `d u_k / d x_i`.
    pub fn d(&self, k: usize, i: usize) -> Result<Tensor<2>> {
        let b = self
            .jet
            .channels
            .first_block(i)
            .ok_or_else(|| PinnError::MissingChannel(format!("d/dx_{i}")))?;
        Ok(self.jet.component(b, k))
    }

    /// `d2 u_k / d x_i d x_j` (pure when `i == j`, mixed otherwise).
    pub fn d2(&self, k: usize, i: usize, j: usize) -> Result<Tensor<2>> {
        let b = self
            .jet
            .channels
            .second_block(i, j)
            .ok_or_else(|| PinnError::MissingChannel(format!("d2/dx_{i}dx_{j}")))?;
        Ok(self.jet.component(b, k))
    }

    /// Laplacian of `u_k` over `axes`.
    pub fn laplacian(&self, k: usize, axes: &[usize]) -> Result<Tensor<2>> {
        let mut acc: Option<Tensor<2>> = None;
        for &i in axes {
            let t = self.d2(k, i, i)?;
            acc = Some(match acc {
                None => t,
                Some(a) => a + t,
            });
        }
        acc.ok_or_else(|| PinnError::MissingChannel("laplacian over no axes".into()))
    }

    /// Time derivative of `u_k` (the problem's time axis).
    pub fn dt(&self, k: usize) -> Result<Tensor<2>> {
        let t = self
            .time_axis
            .ok_or_else(|| PinnError::MissingChannel("d/dt of a stationary problem".into()))?;
        self.d(k, t)
    }

    /// A known function of the coordinates (a source term) as a `[n, 1]` constant.
    pub fn known(&self, f: impl Fn(&[f64]) -> f64) -> Result<Tensor<2>> {
        let dim = self.jet.channels.dim();
        let v: Vec<f64> = self.points.chunks(dim).map(f).collect();
        host_tensor(&v, v.len(), 1, self.precision, self.device)
    }
}
