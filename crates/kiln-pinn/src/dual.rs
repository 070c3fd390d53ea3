//! Host-side second-order forward-mode numbers.
//!
//! Known functions of the coordinates (hard-constraint transforms, Fourier features, source
//! terms, exact solutions) need values, gradients and Hessians at the collocation points. They
//! have no trainable parameters, so they are evaluated once on the host with [`Dual2`] and
//! uploaded as constant jet blocks.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// Largest input dimension kiln-pinn supports (x, y, t).
pub const MAX_DIM: usize = 3;

/// A value with its gradient and Hessian with respect to up to [`MAX_DIM`] inputs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dual2 {
    /// Value.
    pub v: f64,
    /// Gradient.
    pub g: [f64; MAX_DIM],
    /// Hessian (symmetric).
    pub h: [[f64; MAX_DIM]; MAX_DIM],
}

impl Dual2 {
    /// A constant.
    pub fn constant(v: f64) -> Self {
        Self {
            v,
            ..Self::default()
        }
    }

    /// The input variable `i` at value `v`.
    pub fn var(v: f64, i: usize) -> Self {
        let mut d = Self::constant(v);
        d.g[i] = 1.0;
        d
    }

    /// The inputs at point `x` as variables.
    pub fn vars(x: &[f64]) -> Vec<Dual2> {
        x.iter()
            .enumerate()
            .map(|(i, &v)| Dual2::var(v, i))
            .collect()
    }

    /// `f(self)` given `f`, `f'`, `f''` at `self.v` (the chain rule to second order).
    pub fn chain(self, f: f64, f1: f64, f2: f64) -> Self {
        let mut out = Self::constant(f);
        for i in 0..MAX_DIM {
            out.g[i] = f1 * self.g[i];
            for j in 0..MAX_DIM {
                out.h[i][j] = f2 * self.g[i] * self.g[j] + f1 * self.h[i][j];
            }
        }
        out
    }

    /// Sine.
    pub fn sin(self) -> Self {
        let (s, c) = self.v.sin_cos();
        self.chain(s, c, -s)
    }

    /// Cosine.
    pub fn cos(self) -> Self {
        let (s, c) = self.v.sin_cos();
        self.chain(c, -s, -c)
    }

    /// Exponential.
    pub fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e, e)
    }

    /// Hyperbolic tangent.
    pub fn tanh(self) -> Self {
        let t = self.v.tanh();
        let s1 = 1.0 - t * t;
        self.chain(t, s1, -2.0 * t * s1)
    }

    /// Integer power.
    pub fn powi(self, n: i32) -> Self {
        let v = self.v;
        let f1 = if n == 0 {
            0.0
        } else {
            n as f64 * v.powi(n - 1)
        };
        let f2 = if (0..2).contains(&n) {
            0.0
        } else {
            (n * (n - 1)) as f64 * v.powi(n - 2)
        };
        self.chain(v.powi(n), f1, f2)
    }

    /// Reciprocal.
    pub fn recip(self) -> Self {
        let v = self.v;
        self.chain(1.0 / v, -1.0 / (v * v), 2.0 / (v * v * v))
    }

    /// Laplacian over the first `dim` inputs.
    pub fn laplacian(&self, dim: usize) -> f64 {
        (0..dim).map(|i| self.h[i][i]).sum()
    }
}

impl Add for Dual2 {
    type Output = Dual2;
    fn add(mut self, o: Dual2) -> Dual2 {
        self.v += o.v;
        for i in 0..MAX_DIM {
            self.g[i] += o.g[i];
            for j in 0..MAX_DIM {
                self.h[i][j] += o.h[i][j];
            }
        }
        self
    }
}

impl Sub for Dual2 {
    type Output = Dual2;
    fn sub(self, o: Dual2) -> Dual2 {
        self + (-o)
    }
}

impl Neg for Dual2 {
    type Output = Dual2;
    fn neg(self) -> Dual2 {
        self * -1.0
    }
}

impl Mul for Dual2 {
    type Output = Dual2;
    fn mul(self, o: Dual2) -> Dual2 {
        let mut out = Dual2::constant(self.v * o.v);
        for i in 0..MAX_DIM {
            out.g[i] = self.g[i] * o.v + self.v * o.g[i];
            for j in 0..MAX_DIM {
                out.h[i][j] = self.h[i][j] * o.v
                    + self.g[i] * o.g[j]
                    + self.g[j] * o.g[i]
                    + self.v * o.h[i][j];
            }
        }
        out
    }
}

impl Div for Dual2 {
    type Output = Dual2;
    #[allow(clippy::suspicious_arithmetic_impl)]
    fn div(self, o: Dual2) -> Dual2 {
        self * o.recip()
    }
}

impl Add<f64> for Dual2 {
    type Output = Dual2;
    fn add(mut self, c: f64) -> Dual2 {
        self.v += c;
        self
    }
}

impl Sub<f64> for Dual2 {
    type Output = Dual2;
    fn sub(self, c: f64) -> Dual2 {
        self + (-c)
    }
}

impl Mul<f64> for Dual2 {
    type Output = Dual2;
    fn mul(mut self, c: f64) -> Dual2 {
        self.v *= c;
        for i in 0..MAX_DIM {
            self.g[i] *= c;
            for j in 0..MAX_DIM {
                self.h[i][j] *= c;
            }
        }
        self
    }
}

impl Mul<Dual2> for f64 {
    type Output = Dual2;
    fn mul(self, d: Dual2) -> Dual2 {
        d * self
    }
}

impl Add<Dual2> for f64 {
    type Output = Dual2;
    fn add(self, d: Dual2) -> Dual2 {
        d + self
    }
}

impl Sub<Dual2> for f64 {
    type Output = Dual2;
    fn sub(self, d: Dual2) -> Dual2 {
        -d + self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_and_chain_match_closed_forms() {
        // f(x, y) = sin(x) * exp(x y) / (1 + y^2)
        let f = |x: &[Dual2]| x[0].sin() * (x[0] * x[1]).exp() / (x[1].powi(2) + 1.0);
        let p = [0.3, -0.8];
        let d = f(&Dual2::vars(&p));
        let h = 1e-4;
        let fv = |a: f64, b: f64| f(&[Dual2::constant(a), Dual2::constant(b)]).v;
        let fx = (fv(p[0] + h, p[1]) - fv(p[0] - h, p[1])) / (2.0 * h);
        let fyy = (fv(p[0], p[1] + h) - 2.0 * fv(p[0], p[1]) + fv(p[0], p[1] - h)) / (h * h);
        let fxy = (fv(p[0] + h, p[1] + h) - fv(p[0] + h, p[1] - h) - fv(p[0] - h, p[1] + h)
            + fv(p[0] - h, p[1] - h))
            / (4.0 * h * h);
        assert!((d.g[0] - fx).abs() < 1e-7);
        assert!((d.h[1][1] - fyy).abs() < 1e-5);
        assert!((d.h[0][1] - fxy).abs() < 1e-5);
        assert_eq!(d.h[0][1], d.h[1][0]);
    }
}
