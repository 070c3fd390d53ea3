//! Shared pieces of the batch-statistics layers: exact scalars and running-average updates.

use kiln_core::burn;

use burn::module::RunningState;
use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::hyperparams::VarianceConvention;

/// A `[len]` tensor filled with `value`, built from f64 data so an f64 tensor gets the exact
/// value (Burn's scalar ops round the scalar to the device's default float, f32).
pub(crate) fn filled(value: f64, len: usize, device: &Device, dtype: DType) -> Tensor<1> {
    Tensor::from_data(TensorData::new(vec![value; len], [len]), (device, dtype))
}

/// Values per channel of a `[batch, channels, ...]` shape.
pub(crate) fn per_channel(shape: &[usize]) -> usize {
    shape
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, d)| d)
        .product()
}

/// The batch variance the running variance tracks, from the biased one over `n` values.
pub(crate) fn tracked_variance(
    biased: Tensor<1>,
    n: usize,
    convention: VarianceConvention,
) -> Tensor<1> {
    match convention {
        VarianceConvention::Biased => biased,
        VarianceConvention::Unbiased => {
            let [c] = biased.dims();
            let k = filled(
                n as f64 / (n as f64 - 1.0),
                c,
                &biased.device(),
                biased.dtype(),
            );
            biased * k
        }
    }
}

/// `running <- (1 - momentum) running + momentum batch`, detached, with exact scalars.
pub(crate) fn ema_update(running: &RunningState<Tensor<1>>, batch: Tensor<1>, momentum: f64) {
    let device = batch.device();
    let old = running.value_sync().to_device(&device);
    let [c] = old.dims();
    let m = filled(momentum, c, &device, old.dtype());
    let one_minus = filled(1.0 - momentum, c, &device, old.dtype());
    let new = old * one_minus + batch.detach().cast(m.dtype()) * m;
    running.update(new.detach());
}

/// Whether a layer with this `training` flag takes the training path on `device`: Burn's rule
/// (autodiff device and flag on), so `Module::valid()` switches every kiln layer to inference.
pub(crate) fn is_training(device: &Device, flag: bool) -> bool {
    device.is_autodiff() && flag
}

/// A tensor of shape `[1, .., 1]` (rank `D`) holding `value` exactly in `dtype`.
pub(crate) fn scalar<const D: usize>(value: f64, device: &Device, dtype: DType) -> Tensor<D> {
    filled(value, 1, device, dtype).reshape([1; D])
}

/// `[C]` reshaped to `[1, C, 1, ..]` for broadcasting over a rank-`D` input.
pub(crate) fn per_channel_view<const D: usize>(t: Tensor<1>) -> Tensor<D> {
    let mut shape = [1; D];
    shape[1] = t.dims()[0];
    t.reshape(shape)
}
