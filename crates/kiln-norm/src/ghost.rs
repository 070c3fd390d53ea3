//! Ghost BatchNorm (Hoffer, Hubara & Soudry 2017).

use kiln_core::burn;

use burn::module::Module;
use burn::tensor::{DType, Device, Tensor};

use crate::batch::BatchNorm;
use crate::errors::{NormError, Result, check_input};
use crate::hyperparams::{BatchNormParams, GhostBatchNormValidParams};
use crate::stats::is_training;

/// Ghost BatchNorm: in training, the batch is cut into consecutive virtual batches of
/// `virtual_batch` samples (the last may be smaller), each normalized with its own statistics
/// and each folded into the running statistics; inference is plain BatchNorm. Large-batch
/// training thereby keeps the regularizing noise of small-batch statistics.
///
/// Built on [`BatchNorm`] (Burn's op per ghost batch).
#[derive(Module, Debug)]
pub struct GhostBatchNorm {
    bn: BatchNorm,
    virtual_batch: usize,
}

impl GhostBatchNorm {
    /// A fresh layer in the device's default float type.
    pub fn new(params: &GhostBatchNormValidParams, device: &Device) -> Self {
        let dtype = Tensor::<1>::zeros([1], device).dtype();
        Self::with_dtype(params, device, dtype)
    }

    /// A fresh layer whose tensors have `dtype`.
    pub fn with_dtype(params: &GhostBatchNormValidParams, device: &Device, dtype: DType) -> Self {
        // The ghost params were validated with the same rules as BatchNorm's.
        let bn = BatchNormParams::new(params.channels())
            .epsilon(params.epsilon())
            .momentum(params.momentum())
            .convention(params.convention())
            .check()
            .expect("GhostBatchNormParams::check enforces BatchNorm's rules");
        Self {
            bn: BatchNorm::with_dtype(&bn, device, dtype),
            virtual_batch: params.virtual_batch(),
        }
    }

    /// The BatchNorm holding the affine and running statistics.
    pub fn batch_norm(&self) -> &BatchNorm {
        &self.bn
    }
    /// Mutable access (PreciseBN).
    pub(crate) fn batch_norm_mut(&mut self) -> &mut BatchNorm {
        &mut self.bn
    }
    /// Samples per ghost batch.
    pub fn virtual_batch(&self) -> usize {
        self.virtual_batch
    }

    /// Normalizes `input` (`[batch, channels, ...]`). Errors as [`BatchNorm::forward`], plus
    /// [`NormError::GhostBatchTooSmall`] when a ghost batch holds one value per channel.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        let shape = input.dims();
        check_input("GhostBatchNorm", &shape, self.bn.channels(), 2)?;
        if !is_training(&input.device(), self.bn.is_training_enabled()) {
            return self.bn.forward(input);
        }
        let batch = shape[0];
        let per_sample: usize = shape[2..].iter().product();
        let last = match batch % self.virtual_batch {
            0 => self.virtual_batch.min(batch),
            r => r,
        };
        if last * per_sample <= 1 || self.virtual_batch.min(batch) * per_sample <= 1 {
            return Err(NormError::GhostBatchTooSmall {
                batch,
                virtual_batch: self.virtual_batch,
                per_sample,
            });
        }
        let parts: Vec<Tensor<D>> = input
            .split(self.virtual_batch, 0)
            .into_iter()
            .map(|part| self.bn.forward_train(part))
            .collect();
        Ok(Tensor::cat(parts, 0))
    }
}
