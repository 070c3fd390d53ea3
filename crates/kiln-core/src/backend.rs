//! Choosing the Burn [`Device`] kiln runs on.
//!
//! Library code never calls `Device::default()`: it picks by a priority list that changes with
//! Cargo feature unification and obeys `BURN_DEVICE`. Instead every entry point takes a
//! [`BackendKind`] (from `--backend` or `KILN_BACKEND`) and asks [`device`] for the device.

use std::fmt;
use std::str::FromStr;

#[cfg(feature = "burn")]
use burn::tensor::{DType, Device, FloatDType, Tensor};
use serde::{Deserialize, Serialize};

use crate::errors::{KilnError, Result};

/// Name of the environment variable that selects the backend when no flag does.
pub const BACKEND_ENV: &str = "KILN_BACKEND";

/// The Burn backends kiln can run on.
///
/// `Cpu` (CubeCL/LLVM) and `Cuda` are deliberately absent: the first cannot be built offline
/// (its build script downloads LLVM) and the second needs a CUDA toolchain kiln's CI lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn-flex: pure-Rust CPU backend with SIMD and rayon. The default.
    #[default]
    Flex,
    /// burn-ndarray: the older CPU backend (deprecated upstream), behind the `ndarray` feature.
    Ndarray,
    /// burn-wgpu: GPUs through wgpu (Vulkan, Metal, DX12), behind the `wgpu` feature.
    Wgpu,
}

impl BackendKind {
    /// Every kind, compiled in or not.
    pub const ALL: [BackendKind; 3] = [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu];

    /// The name used on the command line and in `KILN_BACKEND`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// The Cargo feature of `kiln-core` that compiles this backend in.
    pub fn feature(self) -> &'static str {
        self.name()
    }

    /// Whether this build of kiln includes the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            BackendKind::Flex => cfg!(feature = "flex"),
            BackendKind::Ndarray => cfg!(feature = "ndarray"),
            BackendKind::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The kinds compiled into this build.
    pub fn compiled() -> Vec<BackendKind> {
        Self::ALL.into_iter().filter(|k| k.is_compiled()).collect()
    }

    /// Reads [`BACKEND_ENV`]; unset or empty means the default ([`BackendKind::Flex`]).
    pub fn from_env() -> Result<BackendKind> {
        match std::env::var(BACKEND_ENV) {
            Ok(v) if !v.trim().is_empty() => v.parse(),
            _ => Ok(BackendKind::default()),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = KilnError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "flex" => Ok(BackendKind::Flex),
            "ndarray" => Ok(BackendKind::Ndarray),
            "wgpu" => Ok(BackendKind::Wgpu),
            "cpu" | "cuda" => Err(KilnError::UnsupportedBackend {
                backend: s.to_string(),
                reason: "not offered by kiln (the CubeCL `cpu` backend downloads LLVM at build \
                         time; `cuda` needs a CUDA toolchain); use flex, ndarray or wgpu"
                    .into(),
            }),
            _ => Err(KilnError::invalid(
                "backend",
                s,
                "expected one of: flex, ndarray, wgpu",
            )),
        }
    }
}

/// Whether tensors made on the device record an autodiff graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Autodiff {
    /// Gradients available through `backward()`.
    On,
    /// Plain inference; cheaper.
    #[default]
    Off,
}

/// Default float precision of tensors made on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats.
    #[default]
    F32,
    /// 64-bit floats (L-BFGS, gradient checks, parity tests).
    F64,
}

#[cfg(feature = "burn")]
impl Precision {
    /// The Burn dtype for this precision.
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::F64 => DType::F64,
        }
    }

    fn float_dtype(self) -> FloatDType {
        match self {
            Precision::F32 => FloatDType::F32,
            Precision::F64 => FloatDType::F64,
        }
    }
}

impl FromStr for Precision {
    type Err = KilnError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(Precision::F32),
            "f64" | "float64" => Ok(Precision::F64),
            _ => Err(KilnError::invalid("precision", s, "expected f32 or f64")),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        })
    }
}

#[cfg(feature = "burn")]
fn unavailable(kind: BackendKind) -> KilnError {
    KilnError::UnsupportedBackend {
        backend: kind.name().into(),
        reason: format!(
            "this build of kiln was compiled without it; rebuild with the `{}` feature \
             (e.g. `cargo build --features kiln-core/{}`)",
            kind.feature(),
            kind.feature()
        ),
    }
}

#[cfg(feature = "burn")]
fn base_device(kind: BackendKind) -> Result<Device> {
    if !kind.is_compiled() {
        return Err(unavailable(kind));
    }
    match kind {
        #[cfg(feature = "flex")]
        BackendKind::Flex => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        BackendKind::Ndarray => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => wgpu_device(),
        #[allow(unreachable_patterns)]
        _ => Err(unavailable(kind)),
    }
}

#[cfg(feature = "wgpu")]
#[cfg(feature = "burn")]
fn wgpu_device() -> Result<Device> {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    // wgpu initialises lazily and panics when no adapter exists; probe once so the caller
    // gets an error instead of a panic deep inside its first tensor op.
    let probe = device.clone();
    let outcome = std::panic::catch_unwind(move || probe.supports_dtype(FloatDType::F32));
    match outcome {
        Ok(true) => Ok(device),
        _ => Err(KilnError::UnsupportedBackend {
            backend: "wgpu".into(),
            reason: "no usable GPU adapter; on a CPU-only Debian machine install Mesa's \
                     software Vulkan driver: `apt-get install mesa-vulkan-drivers`"
                .into(),
        }),
    }
}

/// Returns a device of `kind`, with autodiff on or off and `precision` as its default float type.
///
/// A device's default dtype can be set only once per process (Burn locks it on first use), so
/// asking for [`Precision::F64`] after the same backend was used in f32 is an error. Code that
/// mixes precisions in one process should keep the f32 default and create f64 tensors with an
/// explicit dtype ([`crate::convert::tensor_f64`]).
///
/// For [`Precision::F64`] the device's f64 arithmetic is probed against the host first
/// ([`f64_math_error`]): a device that accepts f64 tensors but computes them inaccurately is
/// refused with [`KilnError::UnsupportedBackend`] rather than handed out.
#[cfg(feature = "burn")]
pub fn device(kind: BackendKind, autodiff: Autodiff, precision: Precision) -> Result<Device> {
    let mut device = base_device(kind)?;
    if !device.supports_dtype(precision.float_dtype()) {
        return Err(KilnError::UnsupportedBackend {
            backend: kind.name().into(),
            reason: format!("the device does not support {precision} arithmetic"),
        });
    }
    if precision == Precision::F64 {
        let err = f64_math_error(&device)?;
        if err > F64_PROBE_TOLERANCE {
            return Err(KilnError::UnsupportedBackend {
                backend: kind.name().into(),
                reason: format!(
                    "it accepts f64 tensors but computes them inaccurately (tanh/exp/ln/sqrt \
                     off by up to {err:.1e} against the host); use f32 or a CPU backend"
                ),
            });
        }
    }
    if device.settings().float_dtype != precision.float_dtype() {
        device
            .configure(precision.float_dtype())
            .map_err(|e| KilnError::UnsupportedBackend {
                backend: kind.name().into(),
                reason: format!(
                    "cannot switch its default float type to {precision}: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ),
            })?;
    }
    Ok(match autodiff {
        Autodiff::On => device.autodiff(),
        Autodiff::Off => device,
    })
}

/// Largest relative error accepted by [`device`] from the f64 probe: a few ulps of f64, far
/// below anything an f32 implementation behind an f64 flag could reach.
#[cfg(feature = "burn")]
pub const F64_PROBE_TOLERANCE: f64 = 1e-12;

/// Largest relative error of the device's f64 `tanh`, `exp`, `ln` and `sqrt` against the host's,
/// on a handful of points.
///
/// Some devices accept f64 buffers but evaluate transcendental functions wrongly: Mesa's software
/// Vulkan driver (lavapipe) was measured here with f64 `tanh` off by 0.92. Trusting the dtype
/// flag would turn every f64 result (gradient checks, L-BFGS in f64) into noise, so kiln probes.
#[cfg(feature = "burn")]
pub fn f64_math_error(device: &Device) -> Result<f64> {
    let xs = [0.1_f64, 0.5, 1.3, 2.7];
    let probe = |op: fn(Tensor<1>) -> Tensor<1>, host: fn(f64) -> f64| {
        let t = crate::convert::tensor_f64(&xs, [xs.len()], device)?;
        let got = crate::convert::to_vec_f64(&op(t))?;
        let want: Vec<f64> = xs.iter().map(|&x| host(x)).collect();
        Ok::<f64, KilnError>(worst_relative_error(&got, &want))
    };
    let errors = [
        probe(|t| t.tanh(), f64::tanh)?,
        probe(|t| t.exp(), f64::exp)?,
        probe(|t| t.log(), f64::ln)?,
        probe(|t| t.sqrt(), f64::sqrt)?,
    ];
    Ok(errors.into_iter().fold(0.0, f64::max))
}

/// Largest relative error of `got` against `want`; NaN or a length mismatch count as infinite.
#[cfg(feature = "burn")]
fn worst_relative_error(got: &[f64], want: &[f64]) -> f64 {
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    got.iter()
        .zip(want)
        .map(|(&g, &w)| {
            let err = ((g - w) / w.abs().max(f64::MIN_POSITIVE)).abs();
            if err.is_nan() { f64::INFINITY } else { err }
        })
        .fold(0.0, f64::max)
}

/// The default device: `KILN_BACKEND` (or flex), no autodiff, f32.
#[cfg(feature = "burn")]
pub fn default_device() -> Result<Device> {
    device(BackendKind::from_env()?, Autodiff::Off, Precision::F32)
}

#[cfg(all(test, feature = "burn"))]
mod tests {
    use super::*;

    #[test]
    fn f64_probe_passes_on_flex_and_flags_wrong_values() {
        let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
        let err = f64_math_error(&dev).unwrap();
        assert!(err <= F64_PROBE_TOLERANCE, "flex f64 off by {err:e}");
        // lavapipe's measured failure: tanh(0.1) = 0.0997 reported as ~1.02.
        assert!(worst_relative_error(&[1.02], &[0.1_f64.tanh()]) > 1.0);
        assert_eq!(worst_relative_error(&[f64::NAN], &[1.0]), f64::INFINITY);
        assert_eq!(worst_relative_error(&[1.0, 2.0], &[1.0]), f64::INFINITY);
        assert_eq!(worst_relative_error(&[2.0], &[2.0]), 0.0);
    }

    #[test]
    fn names_round_trip() {
        for k in BackendKind::ALL {
            assert_eq!(k.to_string().parse::<BackendKind>().unwrap(), k);
        }
        assert_eq!("  FLEX ".parse::<BackendKind>().unwrap(), BackendKind::Flex);
        assert!(matches!(
            "tpu".parse::<BackendKind>(),
            Err(KilnError::InvalidParameter { .. })
        ));
        assert!(matches!(
            "cpu".parse::<BackendKind>(),
            Err(KilnError::UnsupportedBackend { .. })
        ));
        assert_eq!("f64".parse::<Precision>().unwrap(), Precision::F64);
        assert!("f16".parse::<Precision>().is_err());
    }
}
