//! Training through the fused GroupNorm kernels: the layer as one node of Burn's autodiff
//! graph on flex (f32), whose backward step is [`crate::fused::backward`].
//!
//! Burn's composite GroupNorm records a dozen tensor ops per layer, each with its own buffer
//! and pass over the activations; the node runs one forward pass (output and saved statistics)
//! and one backward pass (input, gamma and beta gradients), and allocates only the output and
//! the input gradient. Only the plain `Autodiff<Flex>` graph (no gradient checkpointing) with
//! contiguous f32 tensors is handled; for anything else [`group_norm_node`] returns `None` and
//! the layer takes Burn's composite.

use kiln_core::burn;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{DType, Tensor, TensorData};

use crate::errors::Result;
use crate::fused::{GnSaved, GnShape};
use crate::hyperparams::GroupNormValidParams;

/// A tensor's autodiff primitive on plain `Autodiff<Flex>` if it is contiguous f32.
fn flex_f32<const D: usize>(t: &Tensor<D>) -> Option<FloatTensor<Autodiff<Flex>>> {
    if t.dtype() != DType::F32 {
        return None;
    }
    let p = t.clone().try_into_primitive::<Autodiff<Flex>>().ok()?;
    p.primitive().as_slice::<f32>()?;
    Some(p)
}

/// GroupNorm of `input` (`[batch, channels, spatial...]`) with the affine `(gamma, beta)` as a
/// graph node: gradients flow to `input` and to gamma and beta. `None` when a tensor is not a
/// contiguous f32 tensor of `Autodiff<Flex>`.
pub(crate) fn group_norm_node<const D: usize>(
    params: &GroupNormValidParams,
    input: &Tensor<D>,
    affine: Option<(&Tensor<1>, &Tensor<1>)>,
) -> Option<Result<Tensor<D>>> {
    let dims = input.dims();
    let shape = GnShape {
        batch: dims[0],
        channels: dims[1],
        spatial: dims[2..].iter().product(),
    };
    let x = flex_f32(input)?;
    let (gamma, beta) = match affine {
        Some((g, b)) => (Some(flex_f32(g)?), Some(flex_f32(b)?)),
        None => (None, None),
    };
    let c = shape.channels;
    let values = |t: &Option<FloatTensor<Autodiff<Flex>>>, fill: f32| {
        t.as_ref()
            .and_then(|t| t.primitive().as_slice::<f32>().map(<[f32]>::to_vec))
            .unwrap_or_else(|| vec![fill; c])
    };
    let (gamma_host, beta_host) = (values(&gamma, 1.0), values(&beta, 0.0));
    let xs = x.primitive().as_slice::<f32>()?;
    let mut y = vec![0.0f32; xs.len()];
    let saved = match crate::fused::forward(params, shape, xs, &gamma_host, &beta_host, &mut y) {
        Ok(saved) => saved,
        Err(e) => return Some(Err(e)),
    };
    let output = FlexTensor::from_data(TensorData::new(y, dims));
    let state = GnState {
        params: params.clone(),
        shape,
        x: x.primitive().clone(),
        gamma: gamma_host,
        saved,
    };
    let node = match (gamma, beta) {
        (Some(g), Some(b)) => {
            let guards = [x.node(), g.node(), b.node()];
            finish(GroupNormBackward::<3>, guards, state, output)
        }
        _ => finish(GroupNormBackward::<1>, [x.node()], state, output),
    };
    Some(Ok(Tensor::<D>::from_primitive::<Autodiff<Flex>>(node)))
}

fn finish<const N: usize>(
    op: GroupNormBackward<N>,
    guards: [burn::backend::autodiff::ops::NodeGuard; N],
    state: GnState,
    output: FlexTensor,
) -> FloatTensor<Autodiff<Flex>> {
    match op
        .prepare::<NoCheckpointing>(guards)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state, output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    }
}

/// What the backward step needs: the input (shared with the graph, not copied), gamma on the
/// host, and the saved statistics.
#[derive(Debug, Clone)]
struct GnState {
    params: GroupNormValidParams,
    shape: GnShape,
    x: FlexTensor,
    gamma: Vec<f32>,
    saved: GnSaved,
}

/// The backward step; parents `[input]` or `[input, gamma, beta]`.
#[derive(Debug)]
struct GroupNormBackward<const N: usize>;

impl<const N: usize> Backward<Flex, N> for GroupNormBackward<N> {
    type State = GnState;

    fn backward(self, ops: Ops<GnState, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let dy = match dy.as_slice::<f32>() {
            Some(_) => dy,
            None => dy.to_contiguous(),
        };
        let s = ops.state;
        // Internal invariants, not user input: the forward pass checked `x` and every shape,
        // and `dy` (the output's gradient) was made contiguous f32 of the output's shape. A
        // silently missing gradient would be worse than stopping.
        let x =
            s.x.as_slice::<f32>()
                .expect("GroupNorm node: input is contiguous f32");
        let dys = dy
            .as_slice::<f32>()
            .expect("GroupNorm node: output gradient is f32");
        let mut dx = vec![0.0f32; x.len()];
        let g = crate::fused::backward(&s.params, s.shape, x, &s.gamma, &s.saved, dys, &mut dx)
            .expect("GroupNorm node: the forward pass checked these shapes");
        let dims = s.x.layout().shape().clone();
        let c = s.shape.channels;
        let mut parents = ops.parents.into_iter();
        if let Some(Some(node)) = parents.next() {
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dx, dims)));
        }
        if let Some(Some(node)) = parents.next() {
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(g.gamma, [c])),
            );
        }
        if let Some(Some(node)) = parents.next() {
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(g.beta, [c])));
        }
    }
}
