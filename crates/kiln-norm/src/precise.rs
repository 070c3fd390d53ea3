//! PreciseBN: population statistics recomputed after training.

use kiln_core::KilnError;

use crate::errors::Result;
use crate::hyperparams::PreciseBnValidParams;
use crate::norm::NormSites;

/// Recomputes the running statistics of every BatchNorm site of `model` (plain and ghost) as
/// the plain average of the batch statistics over the first `num_batches` items of `batches`.
///
/// `forward` runs the model on one batch **in training mode** (an autodiff device, training
/// flags on); no optimizer step is taken, so only the running statistics change. The average
/// is obtained exactly by setting each layer's momentum to `1/(k+1)` for batch `k` (the
/// running value after batch `k` is then the mean of the first `k+1` batch values), as
/// Detectron2's `update_bn_stats` does; the momenta are restored afterwards. The running
/// variance becomes the mean of the per-batch variances (in the layer's convention), not the
/// variance of the pooled data — Wu & Johnson (2021) discuss the difference, small when
/// batches are i.i.d.
///
/// Returns the number of batches used; fails with [`KilnError::Empty`] if `batches` yields
/// none, and with the first error of `forward`.
pub fn precise_bn<M, T, I, F>(
    model: &mut M,
    params: &PreciseBnValidParams,
    batches: I,
    mut forward: F,
) -> Result<usize>
where
    M: NormSites,
    I: IntoIterator<Item = T>,
    F: FnMut(&M, T) -> Result<()>,
{
    let mut momenta = Vec::new();
    model.for_each_norm(&mut |site| {
        if let Some(bn) = site.batch_norm_mut() {
            momenta.push(bn.momentum());
        }
    });
    let mut used = 0;
    let mut outcome = Ok(());
    for (k, batch) in batches.into_iter().take(params.num_batches()).enumerate() {
        let m = 1.0 / (k as f64 + 1.0);
        model.for_each_norm(&mut |site| {
            if let Some(bn) = site.batch_norm_mut() {
                bn.set_momentum(m);
            }
        });
        if let Err(e) = forward(model, batch) {
            outcome = Err(e);
            break;
        }
        used += 1;
    }
    let mut i = 0;
    model.for_each_norm(&mut |site| {
        if let Some(bn) = site.batch_norm_mut() {
            bn.set_momentum(momenta[i]);
            i += 1;
        }
    });
    outcome?;
    if used == 0 {
        return Err(KilnError::Empty("PreciseBN batches".into()).into());
    }
    Ok(used)
}
