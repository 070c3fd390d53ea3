//! Moving numbers between Rust slices and Burn tensors.
//!
//! Burn's own `from_data` casts to the device's *default* float type unless told otherwise,
//! which silently turns f64 inputs into f32. These helpers always say which dtype they mean.

use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::errors::{KilnError, Result};

fn check_len(len: usize, shape: &[usize], context: &str) -> Result<()> {
    let expected: usize = shape.iter().product();
    if expected != len {
        return Err(KilnError::shape(
            context,
            format!("{expected} values for shape {shape:?}"),
            format!("{len} values"),
        ));
    }
    Ok(())
}

/// Builds an f32 tensor of `shape` from row-major `values`.
pub fn tensor_f32<const D: usize>(
    values: &[f32],
    shape: [usize; D],
    device: &Device,
) -> Result<Tensor<D>> {
    check_len(values.len(), &shape, "tensor_f32")?;
    let data = TensorData::new(values.to_vec(), shape);
    Ok(Tensor::from_data(data, (device, DType::F32)))
}

/// Builds an f64 tensor of `shape` from row-major `values`, whatever the device's default.
pub fn tensor_f64<const D: usize>(
    values: &[f64],
    shape: [usize; D],
    device: &Device,
) -> Result<Tensor<D>> {
    check_len(values.len(), &shape, "tensor_f64")?;
    let data = TensorData::new(values.to_vec(), shape);
    Ok(Tensor::from_data(data, (device, DType::F64)))
}

/// Reads a float tensor back as row-major f32 values (converting from its dtype).
pub fn to_vec_f32<const D: usize>(tensor: &Tensor<D>) -> Result<Vec<f32>> {
    tensor
        .to_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| KilnError::Numerical {
            context: "tensor readback".into(),
            message: format!("{e:?}"),
        })
}

/// Reads a float tensor back as row-major f64 values (converting from its dtype).
pub fn to_vec_f64<const D: usize>(tensor: &Tensor<D>) -> Result<Vec<f64>> {
    tensor
        .to_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .map_err(|e| KilnError::Numerical {
            context: "tensor readback".into(),
            message: format!("{e:?}"),
        })
}

/// Reads a one-element tensor (a loss) as f64.
pub fn scalar_f64<const D: usize>(tensor: &Tensor<D>) -> Result<f64> {
    let v = to_vec_f64(tensor)?;
    match v.as_slice() {
        [x] => Ok(*x),
        _ => Err(KilnError::shape(
            "scalar_f64",
            "1 element",
            format!("{} elements", v.len()),
        )),
    }
}

/// Shape of a tensor as a `Vec`, for error messages and host-side loops.
pub fn shape_of<const D: usize>(tensor: &Tensor<D>) -> Vec<usize> {
    tensor.dims().to_vec()
}
