//! Pointwise PDE residuals on the host, for the fused engine.
//!
//! The fused engine evaluates the network jets in plain Rust and needs each residual together
//! with its derivatives with respect to the output channels (`u`, `u_x`, `u_xx`, ...) at every
//! point. A residual written with [`Lin`] numbers carries those derivatives along (forward
//! mode, first order), so it reads like its tensor twin in [`crate::problems`].

use std::ops::{Add, Mul, Neg, Sub};

use crate::errors::{PinnError, Result};
use crate::jet::Channels;

/// Most output channels (`blocks x outputs`) a [`Lin`] can differentiate against.
pub const LIN_MAX: usize = 16;

/// A value and its gradient with respect to the output channels of one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lin {
    /// Value.
    pub v: f64,
    /// `d value / d channel`, indexed `block * outputs + component`.
    pub d: [f64; LIN_MAX],
}

impl Lin {
    /// A constant.
    pub fn constant(v: f64) -> Lin {
        Lin {
            v,
            d: [0.0; LIN_MAX],
        }
    }

    fn var(v: f64, index: usize) -> Lin {
        let mut l = Lin::constant(v);
        l.d[index] = 1.0;
        l
    }

    /// `self * c` for a constant `c`.
    pub fn scale(self, c: f64) -> Lin {
        let mut out = self;
        out.v *= c;
        out.d.iter_mut().for_each(|x| *x *= c);
        out
    }
}

impl Add for Lin {
    type Output = Lin;
    fn add(mut self, o: Lin) -> Lin {
        self.v += o.v;
        for (a, b) in self.d.iter_mut().zip(o.d) {
            *a += b;
        }
        self
    }
}

impl Sub for Lin {
    type Output = Lin;
    fn sub(mut self, o: Lin) -> Lin {
        self.v -= o.v;
        for (a, b) in self.d.iter_mut().zip(o.d) {
            *a -= b;
        }
        self
    }
}

impl Neg for Lin {
    type Output = Lin;
    fn neg(self) -> Lin {
        self.scale(-1.0)
    }
}

impl Mul for Lin {
    type Output = Lin;
    fn mul(self, o: Lin) -> Lin {
        let mut out = Lin::constant(self.v * o.v);
        for ((r, a), b) in out.d.iter_mut().zip(self.d).zip(o.d) {
            *r = a * o.v + self.v * b;
        }
        out
    }
}

/// The output channels at one point, the host twin of [`crate::operators::Fields`].
pub struct PointFields<'a> {
    /// The point's coordinates.
    pub x: &'a [f64],
    values: &'a [f64],
    channels: &'a Channels,
    outputs: usize,
    time_axis: Option<usize>,
}

impl<'a> PointFields<'a> {
    /// Wraps channel values `values[block * outputs + k]` at point `x`.
    pub fn new(
        x: &'a [f64],
        values: &'a [f64],
        channels: &'a Channels,
        outputs: usize,
        time_axis: Option<usize>,
    ) -> Self {
        Self {
            x,
            values,
            channels,
            outputs,
            time_axis,
        }
    }

    fn at(&self, block: usize, k: usize) -> Lin {
        let i = block * self.outputs + k;
        Lin::var(self.values[i], i)
    }

    /// Output component `k`.
    pub fn u(&self, k: usize) -> Lin {
        self.at(0, k)
    }

    /// `d u_k / d x_i`.
    pub fn d(&self, k: usize, i: usize) -> Result<Lin> {
        let b = self
            .channels
            .first_block(i)
            .ok_or_else(|| PinnError::MissingChannel(format!("d/dx_{i}")))?;
        Ok(self.at(b, k))
    }

    /// `d2 u_k / d x_i d x_j`.
    pub fn d2(&self, k: usize, i: usize, j: usize) -> Result<Lin> {
        let b = self
            .channels
            .second_block(i, j)
            .ok_or_else(|| PinnError::MissingChannel(format!("d2/dx_{i}dx_{j}")))?;
        Ok(self.at(b, k))
    }

    /// Laplacian of `u_k` over `axes`.
    pub fn laplacian(&self, k: usize, axes: &[usize]) -> Result<Lin> {
        let mut acc = Lin::constant(0.0);
        for &i in axes {
            acc = acc + self.d2(k, i, i)?;
        }
        Ok(acc)
    }

    /// Time derivative of `u_k`.
    pub fn dt(&self, k: usize) -> Result<Lin> {
        let t = self
            .time_axis
            .ok_or_else(|| PinnError::MissingChannel("d/dt of a stationary problem".into()))?;
        self.d(k, t)
    }

    /// A known function of the coordinates.
    pub fn known(&self, f: impl Fn(&[f64]) -> f64) -> Lin {
        Lin::constant(f(self.x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_follow_the_product_rule() {
        let ch = crate::jet::Needs::values().d(0).channels(1).unwrap();
        let vals = [2.0, 3.0];
        let f = PointFields::new(&[0.5], &vals, &ch, 1, None);
        let r = f.u(0) * f.d(0, 0).unwrap() - f.u(0).scale(4.0) + f.known(|x| x[0]);
        assert_eq!(r.v, 2.0 * 3.0 - 8.0 + 0.5);
        assert_eq!(r.d[0], 3.0 - 4.0);
        assert_eq!(r.d[1], 2.0);
        assert!(f.d2(0, 0, 0).is_err());
        assert!(f.dt(0).is_err());
    }
}
