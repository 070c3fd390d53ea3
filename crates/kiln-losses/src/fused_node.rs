//! The fused loss as one node of Burn's autodiff graph on flex, so a training step allocates
//! nothing beyond the gradient itself.
//!
//! The generic way back into autodiff is a surrogate (`loss + sum(x * G) - detach(...)`), and
//! it costs three extra passes over the logits and three fresh buffers of their size: a host
//! copy of the logits (Burn lends no read access to a tracked tensor), the product `x * G`,
//! and `sum`'s backward (a tensor of ones times the incoming gradient). On this VM fresh memory
//! is expensive (a page fault is several microseconds), so those buffers were most of a call.
//! Here the kernels read the logits where they lie and write the gradient `G` into the one
//! buffer the caller ends up owning; the backward step scales `G` by the incoming scalar in
//! place and hands it over.
//!
//! Only the plain `Autodiff<Flex>` graph (no gradient checkpointing) is handled; for any other
//! tensor [`with_fused_node`] returns `None` and the caller takes the surrogate.

use kiln_core::burn::backend::autodiff::checkpoint::base::Checkpointer;
use kiln_core::burn::backend::autodiff::grads::Gradients;
use kiln_core::burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use kiln_core::burn::backend::flex::FlexTensor;
use kiln_core::burn::backend::{Autodiff, Flex};
use kiln_core::burn::tensor::{Element, Tensor, TensorData};

use crate::errors::Result;
use crate::fused::Real;

/// An element flex stores natively (f32 or f64), whose storage can be viewed in place.
pub(crate) trait FlexElement: Real + Element + bytemuck::Pod + std::fmt::Debug {}

impl<T: Real + Element + bytemuck::Pod + std::fmt::Debug> FlexElement for T {}

/// The contiguous values of `t`, or `None` if `t` holds another dtype or is strided.
fn view<F: FlexElement>(t: &FlexTensor) -> Option<&[F]> {
    t.as_slice::<F>()
}

/// The values of `t`, writable in place when `t` is contiguous `F` and owns them alone.
fn view_mut<F: FlexElement>(t: &mut FlexTensor) -> Option<&mut [F]> {
    // `try_storage_mut` asserts the dtype: check it first.
    (t.dtype() == F::DTYPE && t.is_contiguous())
        .then(|| t.try_storage_mut::<F>())
        .flatten()
}

/// Runs `kernel(logits, grad_out)` on the values of a tracked flex tensor `logits` and returns
/// its loss as a graph node whose gradient with respect to `logits` is what the kernel wrote
/// into `grad_out` (times the incoming gradient). `None` when `logits` is not a contiguous
/// tensor of `Autodiff<Flex>` in `F` (the caller then takes the generic path).
pub(crate) fn with_fused_node<F: FlexElement>(
    logits: &Tensor<4>,
    kernel: impl FnOnce(&[F], &mut [F]) -> Result<f64>,
) -> Option<Result<Tensor<1>>> {
    let tracked = logits.clone().try_into_primitive::<Autodiff<Flex>>().ok()?;
    let x = view::<F>(tracked.primitive())?;
    let shape = tracked.primitive().layout().shape().clone();
    // Every element is written by the kernel's copy-in; zeroed memory is the safe way to get
    // the buffer (and costs the same page faults as writing it).
    let mut grad = vec![F::ZERO; x.len()];
    let loss = match kernel(x, &mut grad) {
        Ok(loss) => loss,
        Err(e) => return Some(Err(e)),
    };
    let value = FlexTensor::from_data(TensorData::new(vec![F::from_f64(loss)], [1]));
    let node = match FusedLoss::<F>::default()
        .prepare::<kiln_core::burn::backend::autodiff::checkpoint::strategy::NoCheckpointing>([
            tracked.node(),
        ])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            prep.finish(FlexTensor::from_data(TensorData::new(grad, shape)), value)
        }
        OpsKind::UnTracked(prep) => prep.finish(value),
    };
    Some(Ok(Tensor::<1>::from_primitive::<Autodiff<Flex>>(node)))
}

/// The backward step of a fused loss: its state is the gradient `G` with respect to the logits.
#[derive(Debug, Default)]
struct FusedLoss<F>(std::marker::PhantomData<F>);

impl<F: FlexElement> Backward<Flex, 1> for FusedLoss<F> {
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let incoming = grads.consume::<Flex>(&ops.node);
        let Some(parent) = parent else {
            return;
        };
        let mut g = ops.state;
        // d(s * loss)/dx = s * G. The usual case, `loss.backward()`, has s = 1 and hands G
        // over untouched.
        let s = view::<F>(&incoming).and_then(|v| v.first().copied());
        match (s, view_mut::<F>(&mut g)) {
            (Some(s), _) if s == F::ONE => {}
            (Some(s), Some(values)) => values.iter_mut().for_each(|v| *v = *v * s),
            _ => {
                use kiln_core::burn::backend::ops::FloatTensorOps;
                let shape = g.layout().shape().clone();
                let incoming = Flex::float_expand(incoming, shape);
                g = Flex::float_mul(g, incoming);
            }
        }
        grads.register::<Flex>(parent.id, g);
    }
}
