//! Choosing the Burn [`Device`] kiln runs on.
//!
//! Library code never calls `Device::default()`: it picks by a priority list that changes with
//! Cargo feature unification and obeys `BURN_DEVICE`. Instead every entry point takes a
//! [`BackendKind`] (from `--backend` or `KILN_BACKEND`) and asks [`device`] for the device.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{DType, Device, FloatDType};
use serde::{Deserialize, Serialize};

use crate::error::{KilnError, Result};

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
pub fn device(kind: BackendKind, autodiff: Autodiff, precision: Precision) -> Result<Device> {
    let mut device = base_device(kind)?;
    if !device.supports_dtype(precision.float_dtype()) {
        return Err(KilnError::UnsupportedBackend {
            backend: kind.name().into(),
            reason: format!("the device does not support {precision} arithmetic"),
        });
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

/// The default device: `KILN_BACKEND` (or flex), no autodiff, f32.
pub fn default_device() -> Result<Device> {
    device(BackendKind::from_env()?, Autodiff::Off, Precision::F32)
}

#[cfg(test)]
mod tests {
    use super::*;

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
