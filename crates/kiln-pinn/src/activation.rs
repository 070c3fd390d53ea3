//! Activations with closed-form first and second derivatives.
//!
//! Jets need `f`, `f'` and `f''` at the pre-activation; Burn's autodiff could give `f'` only
//! through a backward pass, so each activation carries its derivatives in closed form, once
//! for tensors (training) and once for `f64` (tests, host-side checks).

use std::f64::consts::{FRAC_1_SQRT_2, PI};
use std::fmt;
use std::str::FromStr;

use kiln_core::KilnError;
use kiln_core::burn::tensor::Tensor;
use kiln_core::burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

/// A smooth activation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `tanh(z)`, the PINN default.
    #[default]
    Tanh,
    /// `sin(z)` (SIREN-style).
    Sin,
    /// `z * sigmoid(z)`.
    Silu,
    /// `z * Phi(z)`, exact (erf) form.
    Gelu,
    /// `log(1 + exp(z))`.
    Softplus,
}

/// `f(z)`, `f'(z)` and, when asked, `f''(z)`.
pub struct ActivationJet<T> {
    /// `f(z)`.
    pub value: T,
    /// `f'(z)`.
    pub d1: T,
    /// `f''(z)`, when requested.
    pub d2: Option<T>,
}

fn inv_sqrt_2pi() -> f64 {
    1.0 / (2.0 * PI).sqrt()
}

impl Activation {
    /// Every activation.
    pub const ALL: [Activation; 5] = [
        Activation::Tanh,
        Activation::Sin,
        Activation::Silu,
        Activation::Gelu,
        Activation::Softplus,
    ];

    /// Name used in parameters and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Sin => "sin",
            Activation::Silu => "silu",
            Activation::Gelu => "gelu",
            Activation::Softplus => "softplus",
        }
    }

    /// `f`, `f'`, `f''` at a scalar (host reference for tests).
    pub fn eval_f64(self, z: f64) -> (f64, f64, f64) {
        match self {
            Activation::Tanh => {
                let t = z.tanh();
                let s1 = 1.0 - t * t;
                (t, s1, -2.0 * t * s1)
            }
            Activation::Sin => (z.sin(), z.cos(), -z.sin()),
            Activation::Silu => {
                let s = 1.0 / (1.0 + (-z).exp());
                let ds = s * (1.0 - s);
                (z * s, s + z * ds, ds * (2.0 + z * (1.0 - 2.0 * s)))
            }
            Activation::Gelu => {
                let cdf = 0.5 * (1.0 + erf(z * FRAC_1_SQRT_2));
                let pdf = inv_sqrt_2pi() * (-0.5 * z * z).exp();
                (z * cdf, cdf + z * pdf, pdf * (2.0 - z * z))
            }
            Activation::Softplus => {
                let s = 1.0 / (1.0 + (-z).exp());
                (z.max(0.0) + (-z.abs()).exp().ln_1p(), s, s * (1.0 - s))
            }
        }
    }

    /// `f`, `f'`, `f''`, `f'''` at a scalar (the fused engine's reverse pass through `f''`).
    pub fn eval3_f64(self, z: f64) -> (f64, f64, f64, f64) {
        match self {
            Activation::Tanh => {
                let t = z.tanh();
                let s1 = 1.0 - t * t;
                let s2 = -2.0 * t * s1;
                (t, s1, s2, -2.0 * (s1 * s1 + t * s2))
            }
            Activation::Sin => {
                let (s, c) = z.sin_cos();
                (s, c, -s, -c)
            }
            Activation::Silu => {
                let s = 1.0 / (1.0 + (-z).exp());
                let ds = s * (1.0 - s);
                let a = 1.0 - 2.0 * s;
                (
                    z * s,
                    s + z * ds,
                    ds * (2.0 + z * a),
                    ds * a * (2.0 + z * a) + ds * (a - 2.0 * z * ds),
                )
            }
            Activation::Gelu => {
                let cdf = 0.5 * (1.0 + erf(z * FRAC_1_SQRT_2));
                let pdf = inv_sqrt_2pi() * (-0.5 * z * z).exp();
                (
                    z * cdf,
                    cdf + z * pdf,
                    pdf * (2.0 - z * z),
                    pdf * z * (z * z - 4.0),
                )
            }
            Activation::Softplus => {
                let s = 1.0 / (1.0 + (-z).exp());
                let ds = s * (1.0 - s);
                (
                    z.max(0.0) + (-z.abs()).exp().ln_1p(),
                    s,
                    ds,
                    ds * (1.0 - 2.0 * s),
                )
            }
        }
    }

    /// `f`, `f'` and (if `second`) `f''` of a tensor, elementwise.
    pub fn eval(self, z: Tensor<2>, second: bool) -> ActivationJet<Tensor<2>> {
        match self {
            Activation::Tanh => {
                let t = z.tanh();
                let s1 = t.clone().square().neg().add_scalar(1.0);
                let d2 = second.then(|| t.clone().mul(s1.clone()).mul_scalar(-2.0));
                ActivationJet {
                    value: t,
                    d1: s1,
                    d2,
                }
            }
            Activation::Sin => {
                let s = z.clone().sin();
                let d2 = second.then(|| s.clone().neg());
                ActivationJet {
                    value: s,
                    d1: z.cos(),
                    d2,
                }
            }
            Activation::Silu => {
                let s = sigmoid(z.clone());
                let ds = s.clone().mul(s.clone().neg().add_scalar(1.0));
                let d2 = second.then(|| {
                    let inner = s.clone().mul_scalar(-2.0).add_scalar(1.0).mul(z.clone());
                    ds.clone().mul(inner.add_scalar(2.0))
                });
                ActivationJet {
                    value: z.clone().mul(s.clone()),
                    d1: s.add(z.mul(ds)),
                    d2,
                }
            }
            Activation::Gelu => {
                let cdf = z
                    .clone()
                    .mul_scalar(FRAC_1_SQRT_2)
                    .erf()
                    .add_scalar(1.0)
                    .mul_scalar(0.5);
                let pdf = z
                    .clone()
                    .square()
                    .mul_scalar(-0.5)
                    .exp()
                    .mul_scalar(inv_sqrt_2pi());
                let d2 = second.then(|| pdf.clone().mul(z.clone().square().neg().add_scalar(2.0)));
                ActivationJet {
                    value: z.clone().mul(cdf.clone()),
                    d1: cdf.add(z.mul(pdf)),
                    d2,
                }
            }
            Activation::Softplus => {
                let s = sigmoid(z.clone());
                let d2 = second.then(|| s.clone().mul(s.clone().neg().add_scalar(1.0)));
                // max(z, 0) + log1p(exp(-|z|)) never overflows.
                let value = z.clone().clamp_min(0.0).add(z.abs().neg().exp().log1p());
                ActivationJet { value, d1: s, d2 }
            }
        }
    }
}

/// The error function (libm's, accurate to about 1 ulp).
pub fn erf(x: f64) -> f64 {
    libm::erf(x)
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = KilnError;

    fn from_str(s: &str) -> Result<Self, KilnError> {
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                KilnError::invalid(
                    "activation",
                    s,
                    "expected tanh, sin, silu, gelu or softplus",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_derivatives_match_finite_differences() {
        let h = 1e-5;
        for act in Activation::ALL {
            for &z in &[-3.1, -0.7, 0.0, 0.4, 2.2] {
                let (_, d1, d2) = act.eval_f64(z);
                let f = |z| act.eval_f64(z).0;
                let fd1 = (f(z + h) - f(z - h)) / (2.0 * h);
                let g = |z| act.eval_f64(z).1;
                let fd2 = (g(z + h) - g(z - h)) / (2.0 * h);
                assert!((d1 - fd1).abs() < 1e-8, "{act} f' at {z}: {d1} vs {fd1}");
                assert!((d2 - fd2).abs() < 1e-8, "{act} f'' at {z}: {d2} vs {fd2}");
                let (v3, e1, e2, d3) = act.eval3_f64(z);
                assert_eq!(
                    (v3, e1, e2),
                    act.eval_f64(z),
                    "{act}: eval3 agrees with eval"
                );
                let k = |z| act.eval_f64(z).2;
                let fd3 = (k(z + h) - k(z - h)) / (2.0 * h);
                assert!((d3 - fd3).abs() < 1e-8, "{act} f''' at {z}: {d3} vs {fd3}");
            }
        }
    }

    #[test]
    fn erf_known_values() {
        assert!((erf(0.5) - 0.520_499_877_813_046_5).abs() < 1e-14);
        assert!((erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-14);
        assert!((erf(3.0) - 0.999_977_909_503_001_4).abs() < 1e-14);
        assert!((erf(-2.0) + 0.995_322_265_018_952_7).abs() < 1e-14);
    }
}
