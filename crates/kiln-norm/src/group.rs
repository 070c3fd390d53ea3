//! GroupNorm: Burn's `nn::GroupNorm` behind a validated config and checked inputs.

use kiln_core::burn;

use burn::module::{Module, Param};
use burn::nn::GroupNormConfig;
use burn::tensor::{DType, Device, Tensor};

use crate::errors::{Result, check_dtype, check_input};
use crate::hyperparams::GroupNormValidParams;
use crate::stats::filled;

/// Group Normalization (Wu & He 2018): per sample, the channels are split into `groups`
/// groups, each normalized by its own mean and biased variance over (its channels, all
/// spatial positions), then a per-channel affine. Independent of the batch, so training and
/// inference agree at any batch size.
///
/// Wraps Burn's `nn::GroupNorm` (same fields and record). kiln adds what Burn lacks: the
/// config is validated ([`crate::GroupNormParams::check`]) and the input is checked — Burn's
/// own check compares the *element count* with 2 instead of the rank, so a `[N, C]` input
/// slips through; kiln refuses rank < 3 with [`crate::NormError::RankTooLow`]. (PyTorch's
/// `nn.GroupNorm` accepts `[N, C]`, normalizing each group of `C/G` values.)
#[derive(Module, Debug)]
pub struct GroupNorm {
    inner: burn::nn::GroupNorm,
}

impl GroupNorm {
    /// A fresh layer (gamma 1, beta 0) in the device's default float type.
    pub fn new(params: &GroupNormValidParams, device: &Device) -> Self {
        let dtype = Tensor::<1>::zeros([1], device).dtype();
        Self::with_dtype(params, device, dtype)
    }

    /// A fresh layer whose affine tensors have `dtype`.
    pub fn with_dtype(params: &GroupNormValidParams, device: &Device, dtype: DType) -> Self {
        let c = params.channels();
        let mut inner = GroupNormConfig::new(params.groups(), c)
            .with_epsilon(params.epsilon())
            .with_affine(params.affine())
            .init(device);
        if params.affine() {
            inner.gamma = Some(Param::from_tensor(filled(1.0, c, device, dtype)));
            inner.beta = Some(Param::from_tensor(filled(0.0, c, device, dtype)));
        }
        Self { inner }
    }

    /// Replaces gamma and beta (shape `[channels]` each); turns the affine on.
    pub fn with_affine(mut self, gamma: Tensor<1>, beta: Tensor<1>) -> Result<Self> {
        let c = self.channels();
        for (name, t) in [("gamma", &gamma), ("beta", &beta)] {
            if t.dims() != [c] {
                return Err(kiln_core::KilnError::shape(
                    format!("GroupNorm {name}"),
                    format!("[{c}]"),
                    format!("{:?}", t.dims()),
                )
                .into());
            }
        }
        self.inner.gamma = Some(Param::from_tensor(gamma));
        self.inner.beta = Some(Param::from_tensor(beta));
        self.inner.affine = true;
        Ok(self)
    }

    /// The wrapped Burn layer.
    pub fn into_burn(self) -> burn::nn::GroupNorm {
        self.inner
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.inner.num_channels
    }
    /// Number of groups.
    pub fn groups(&self) -> usize {
        self.inner.num_groups
    }
    /// Variance floor.
    pub fn epsilon(&self) -> f64 {
        self.inner.epsilon
    }
    /// The scale gamma, if the affine is on.
    pub fn gamma(&self) -> Option<Tensor<1>> {
        self.inner.gamma.as_ref().map(|p| p.val())
    }
    /// The shift beta, if the affine is on.
    pub fn beta(&self) -> Option<Tensor<1>> {
        self.inner.beta.as_ref().map(|p| p.val())
    }

    /// Inference through kiln's fused host kernel ([`crate::fused::forward_in_place`]): takes
    /// over `input`'s buffer (`into_data`, no copy when the tensor is not shared; a shared one
    /// is copied on write, so other handles keep their values), normalizes it in place on the
    /// CPU with rayon, and hands the same buffer back as the output tensor on `input`'s device
    /// in `input`'s dtype (f16/f64 inputs are converted to f32 and back). Not differentiable
    /// (the result is a fresh tensor). [`GroupNorm::forward`] calls it on flex with autodiff
    /// off and f32 input; elsewhere call it only for inference.
    pub fn forward_fused<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        let shape = input.dims();
        check_input("GroupNorm", &shape, self.channels(), 3)?;
        let c = self.channels();
        let device = input.device();
        let dtype = input.dtype();
        let mut data = input.into_data();
        if dtype != DType::F32 {
            data = data.try_cast_as::<f32>().map_err(host_error)?;
        }
        let (gamma, beta) = match (self.gamma(), self.beta()) {
            (Some(g), Some(b)) => (
                kiln_core::convert::to_vec_f32(&g)?,
                kiln_core::convert::to_vec_f32(&b)?,
            ),
            _ => (vec![1.0; c], vec![0.0; c]),
        };
        let params = self.kernel_params()?;
        let gs = crate::fused::GnShape {
            batch: shape[0],
            channels: c,
            spatial: shape[2..].iter().product(),
        };
        let xy = data.as_mut_slice::<f32>().map_err(host_error)?;
        crate::fused::forward_in_place(&params, gs, xy, &gamma, &beta)?;
        Ok(Tensor::from_data(data, (&device, dtype)))
    }

    /// Normalizes `input` (`[batch, channels, spatial...]`, rank >= 3). Same in training and
    /// inference.
    ///
    /// On flex with an f32 input this is kiln's fused kernel: with autodiff off
    /// [`GroupNorm::forward_fused`] (~10x faster than Burn's composite there: README, Speed),
    /// with autodiff on one graph node whose backward step is [`crate::fused::backward`]
    /// (gradients for the input, gamma and beta). Everywhere else (other backends, other
    /// dtypes, gradient checkpointing, strided tensors) it is Burn's composite.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        check_input("GroupNorm", &input.dims(), self.channels(), 3)?;
        if let Some(g) = &self.inner.gamma {
            check_dtype("GroupNorm", input.dtype(), g.val().dtype())?;
        }
        if input.shape().num_elements() <= 2 {
            // Burn panics here (its "rank" check counts elements): same math, composed here.
            return Ok(self.forward_tiny(input));
        }
        if input.dtype() == DType::F32 && input.device() == Device::flex() {
            if !input.is_autodiff() {
                return self.forward_fused(input);
            }
            let params = self.kernel_params()?;
            let (gamma, beta) = (self.gamma(), self.beta());
            let affine = gamma.as_ref().zip(beta.as_ref());
            if let Some(node) = crate::fused_node::group_norm_node(&params, &input, affine) {
                return node;
            }
        }
        Ok(self.inner.forward(input))
    }

    /// The layer's groups, channels and epsilon as the fused kernels take them.
    fn kernel_params(&self) -> Result<GroupNormValidParams> {
        crate::hyperparams::GroupNormParams::new(self.groups(), self.channels())
            .epsilon(self.epsilon())
            .check()
    }

    /// GroupNorm by tensor ops (differentiable) for the inputs Burn's op refuses: at most two
    /// elements in all, e.g. `[1, 1, 1, 2]`.
    fn forward_tiny<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let shape = input.dims();
        let (b, g) = (shape[0], self.groups());
        let n: usize = shape.iter().product();
        let x = input.reshape([b, g, n / (b * g)]);
        let centred = x.clone() - x.mean_dim(2);
        let var = (centred.clone() * centred.clone()).mean_dim(2);
        let y: Tensor<D> = (centred / (var + self.epsilon()).sqrt()).reshape(shape);
        let mut per_channel = [1usize; D];
        per_channel[1] = self.channels();
        match (self.gamma(), self.beta()) {
            (Some(gamma), Some(beta)) => y * gamma.reshape(per_channel) + beta.reshape(per_channel),
            _ => y,
        }
    }
}

/// A failed host access or conversion of tensor data.
fn host_error(e: burn::tensor::DataError) -> crate::NormError {
    kiln_core::KilnError::Numerical {
        context: "GroupNorm tensor data".into(),
        message: format!("{e:?}"),
    }
    .into()
}
