//! The typed errors of kiln-norm.

use kiln_core::KilnError;

/// Result alias of this crate.
pub type Result<T, E = NormError> = std::result::Result<T, E>;

/// What can go wrong when building or running a normalization layer.
#[derive(Debug, thiserror::Error)]
pub enum NormError {
    /// The channel count is not a multiple of the group count (GroupNorm, EvoNorm-S0).
    /// PyTorch's `nn.GroupNorm` raises `ValueError` at construction for the same reason.
    #[error("{layer}: num_channels = {channels} is not divisible by num_groups = {groups}")]
    ChannelsNotDivisible {
        /// The layer.
        layer: &'static str,
        /// Number of channels.
        channels: usize,
        /// Number of groups.
        groups: usize,
    },
    /// The input has too few dimensions for the layer.
    #[error(
        "{layer}: input of rank {rank} (shape {shape:?}); expected rank >= {min} ([batch, channels, ...])"
    )]
    RankTooLow {
        /// The layer.
        layer: &'static str,
        /// The input's rank.
        rank: usize,
        /// The input's shape.
        shape: Vec<usize>,
        /// The smallest rank the layer accepts.
        min: usize,
    },
    /// The input's channel axis (axis 1) does not match the layer.
    #[error("{layer}: input has {actual} channels on axis 1, the layer was built for {expected}")]
    ChannelMismatch {
        /// The layer.
        layer: &'static str,
        /// Channels the layer was built for.
        expected: usize,
        /// Channels of the input.
        actual: usize,
    },
    /// Training-mode batch statistics need more than one value per channel. PyTorch raises
    /// `ValueError: Expected more than 1 value per channel when training` in the same case;
    /// Burn silently returns `beta` (the centred input is all zeros).
    #[error(
        "{layer}: expected more than 1 value per channel when training, got input shape {shape:?} (PyTorch raises ValueError here)"
    )]
    SingleValuePerChannel {
        /// The layer.
        layer: &'static str,
        /// The input's shape.
        shape: Vec<usize>,
    },
    /// The batch cannot be split into ghost batches with more than one value per channel.
    #[error(
        "GhostBatchNorm: batch of {batch} leaves a ghost batch with one value per channel (virtual batch size {virtual_batch}, {per_sample} values per sample and channel)"
    )]
    GhostBatchTooSmall {
        /// Batch size of the input.
        batch: usize,
        /// Configured virtual batch size.
        virtual_batch: usize,
        /// Spatial elements per sample and channel.
        per_sample: usize,
    },
    /// The input's float type differs from the layer's (Burn would panic mixing them).
    #[error(
        "{layer}: input is {input}, the layer's tensors are {layer_dtype}; build the layer with `with_dtype` or cast the input"
    )]
    DtypeMismatch {
        /// The layer.
        layer: &'static str,
        /// The input's dtype.
        input: String,
        /// The layer's dtype.
        layer_dtype: String,
    },
    /// A shared kiln error (shapes, non-finite values, parameters, I/O).
    #[error(transparent)]
    Core(#[from] KilnError),
}

impl From<NormError> for KilnError {
    fn from(e: NormError) -> Self {
        match e {
            NormError::Core(k) => k,
            NormError::ChannelMismatch {
                layer,
                expected,
                actual,
            } => KilnError::shape(
                format!("{layer} input axis 1"),
                format!("{expected} channels"),
                format!("{actual} channels"),
            ),
            other => KilnError::input("norm", other),
        }
    }
}

/// Checks the input shape of a layer built for `channels` channels.
pub(crate) fn check_input(
    layer: &'static str,
    shape: &[usize],
    channels: usize,
    min_rank: usize,
) -> Result<()> {
    if shape.len() < min_rank {
        return Err(NormError::RankTooLow {
            layer,
            rank: shape.len(),
            shape: shape.to_vec(),
            min: min_rank,
        });
    }
    if shape[1] != channels {
        return Err(NormError::ChannelMismatch {
            layer,
            expected: channels,
            actual: shape[1],
        });
    }
    if shape.contains(&0) {
        return Err(KilnError::Empty(format!("{layer} input of shape {shape:?}")).into());
    }
    Ok(())
}

/// Checks that batch statistics over all axes but the channel see more than one value.
pub(crate) fn check_batch_stats(layer: &'static str, shape: &[usize]) -> Result<()> {
    let per_channel: usize = shape
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, d)| d)
        .product();
    if per_channel <= 1 {
        return Err(NormError::SingleValuePerChannel {
            layer,
            shape: shape.to_vec(),
        });
    }
    Ok(())
}

/// Checks that the input and the layer's parameters share a float type.
pub(crate) fn check_dtype(
    layer: &'static str,
    input: kiln_core::burn::tensor::DType,
    params: kiln_core::burn::tensor::DType,
) -> Result<()> {
    if input != params {
        return Err(NormError::DtypeMismatch {
            layer,
            input: format!("{input:?}"),
            layer_dtype: format!("{params:?}"),
        });
    }
    Ok(())
}

/// Checks that a per-channel tensor has shape `[channels]`.
pub(crate) fn check_vector(
    what: &str,
    t: &kiln_core::burn::tensor::Tensor<1>,
    channels: usize,
) -> Result<()> {
    if t.dims() != [channels] {
        return Err(
            KilnError::shape(what, format!("[{channels}]"), format!("{:?}", t.dims())).into(),
        );
    }
    Ok(())
}
