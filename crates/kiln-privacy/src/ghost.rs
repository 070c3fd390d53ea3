//! A stack of linear layers (an MLP with ReLU) and its ghost-norm per-example clipping.
//!
//! For a linear layer `z = a W + b` the per-example gradient of `W` is the outer product
//! `a_i^T delta_i` (with `delta_i = dL_i/dz_i`), whose norm is `|a_i| |delta_i|`, and the
//! bias gradient is `delta_i`. So one backward pass over the whole batch, which yields every
//! `delta_i` at once, gives every example's gradient norm without ever forming per-example
//! gradients (the "ghost norm" trick of Goodfellow 2015 / Li et al. 2022), and the clipped
//! sum is `a^T diag(c) delta`. The output gradients are captured by adding a zero leaf tensor
//! to each layer's output.

use kiln_core::burn;
use kiln_core::burn::module::Module;
use kiln_core::burn::nn::{Linear, LinearConfig};
use kiln_core::burn::tensor::activation::{log_softmax, relu};
use kiln_core::burn::tensor::{Device, Int, Tensor, TensorData};
use kiln_core::convert;

use crate::dpsgd::ClippedSum;
use crate::errors::{PrivacyError, Result};

/// A multilayer perceptron: linear layers with ReLU in between, logits out.
#[derive(Module, Debug)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<Linear>,
}

impl Mlp {
    /// Layers of sizes `sizes[0] -> sizes[1] -> ...` on `device` (initialized by Burn's RNG).
    pub fn new(sizes: &[usize], device: &Device) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(PrivacyError::invalid(
                "sizes",
                format!("{sizes:?}"),
                "need at least two positive layer sizes",
            ));
        }
        Ok(Self {
            layers: sizes
                .windows(2)
                .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                .collect(),
        })
    }

    /// Logits for a batch `[B, d_in]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut a = x;
        for (l, layer) in self.layers.iter().enumerate() {
            a = layer.forward(a);
            if l < last {
                a = relu(a);
            }
        }
        a
    }

    /// Input and output widths.
    pub fn dims(&self) -> (usize, usize) {
        let first = self.layers[0].weight.val().dims()[0];
        let last = self.layers[self.layers.len() - 1].weight.val().dims()[1];
        (first, last)
    }
}

/// Builds a `[rows, d]` input tensor from row-major features.
pub fn batch_tensor(x: &[f32], rows: usize, d: usize, device: &Device) -> Result<Tensor<2>> {
    Ok(convert::tensor_f32(x, [rows, d], device)?)
}

/// Sum over the batch of the per-example cross-entropy losses.
pub fn cross_entropy_sum(
    logits: Tensor<2>,
    targets: &[usize],
    device: &Device,
) -> Result<Tensor<1>> {
    let [b, c] = logits.dims();
    if targets.len() != b {
        return Err(kiln_core::KilnError::shape("targets", b, targets.len()).into());
    }
    if let Some(t) = targets.iter().find(|&&t| t >= c) {
        return Err(PrivacyError::invalid(
            "target",
            t,
            "class index out of range",
        ));
    }
    let idx: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
    let idx = Tensor::<2, Int>::from_data(TensorData::new(idx, [b, 1]), device);
    let picked = log_softmax(logits, 1).gather(1, idx);
    Ok(picked.sum().neg())
}

/// Ghost-norm path: the clipped per-example gradient sum of `model` on one batch, from a
/// single backward pass. `x` holds the batch rows (row-major, `targets.len()` rows).
pub fn clipped_sum_ghost(
    model: &Mlp,
    x: &[f32],
    targets: &[usize],
    clip: f64,
    device: &Device,
) -> Result<ClippedSum> {
    let b = targets.len();
    let mut sum = ClippedSum::default();
    if b == 0 {
        return Ok(sum);
    }
    let (d_in, _) = model.dims();
    let last = model.layers.len() - 1;
    let mut a = batch_tensor(x, b, d_in, device)?;
    let mut inputs = Vec::with_capacity(model.layers.len());
    let mut probes = Vec::with_capacity(model.layers.len());
    for (l, layer) in model.layers.iter().enumerate() {
        let out = layer.weight.val().dims()[1];
        let probe = Tensor::<2>::zeros([b, out], device).require_grad();
        inputs.push(a.clone());
        let z = layer.forward(a) + probe.clone();
        probes.push(probe);
        a = if l < last { relu(z) } else { z };
    }
    let loss = cross_entropy_sum(a, targets, device)?;
    let grads = loss.backward();
    // Host copies: a_l [B, in], delta_l [B, out].
    let mut acts = Vec::new();
    let mut deltas = Vec::new();
    for (inp, probe) in inputs.iter().zip(&probes) {
        let g = probe
            .grad(&grads)
            .ok_or_else(|| PrivacyError::numerical("ghost norm", "layer output got no gradient"))?;
        let dv = convert::to_vec_f64(&g)?;
        kiln_core::errors::ensure_finite(&dv, "layer output gradient")?;
        acts.push((convert::to_vec_f64(inp)?, inp.dims()[1]));
        deltas.push((dv, g.dims()[1]));
    }
    // Per-example squared norms: sum_l (|a_li|^2 + 1[bias]) |delta_li|^2.
    let mut factors = Vec::with_capacity(b);
    for i in 0..b {
        let mut sq = 0.0;
        for (l, layer) in model.layers.iter().enumerate() {
            let (av, din) = &acts[l];
            let (dv, dout) = &deltas[l];
            let an: f64 = av[i * din..(i + 1) * din].iter().map(|v| v * v).sum();
            let dn: f64 = dv[i * dout..(i + 1) * dout].iter().map(|v| v * v).sum();
            sq += an * dn + if layer.bias.is_some() { dn } else { 0.0 };
        }
        let norm = sq.sqrt();
        let f = if norm > clip { clip / norm } else { 1.0 };
        sum.norms.push(norm);
        sum.clipped_norms.push(norm * f);
        factors.push(f);
    }
    for (l, layer) in model.layers.iter().enumerate() {
        let (av, din) = (&acts[l].0, acts[l].1);
        let (dv, dout) = (&deltas[l].0, deltas[l].1);
        let mut w = vec![0.0; din * dout];
        for i in 0..b {
            let c = factors[i];
            let ai = &av[i * din..(i + 1) * din];
            let di = &dv[i * dout..(i + 1) * dout];
            for (r, &ar) in ai.iter().enumerate() {
                let s = c * ar;
                if s != 0.0 {
                    for (wv, &dc) in w[r * dout..(r + 1) * dout].iter_mut().zip(di) {
                        *wv += s * dc;
                    }
                }
            }
        }
        sum.sums.insert(layer.weight.id, w);
        if let Some(bias) = &layer.bias {
            let mut bv = vec![0.0; dout];
            for i in 0..b {
                for (o, &dc) in bv.iter_mut().zip(&dv[i * dout..(i + 1) * dout]) {
                    *o += factors[i] * dc;
                }
            }
            sum.sums.insert(bias.id, bv);
        }
    }
    Ok(sum)
}

/// Accuracy of `model` on rows `x` with labels `y`.
pub fn accuracy(model: &Mlp, x: &[f32], y: &[usize], device: &Device) -> Result<f64> {
    let (d, c) = model.dims();
    let logits = convert::to_vec_f64(&model.forward(batch_tensor(x, y.len(), d, device)?))?;
    let correct = y
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            let row = &logits[i * c..(i + 1) * c];
            let arg = kiln_core::numerics::argmax(row).map_or(0, |(k, _)| k);
            arg == **t
        })
        .count();
    Ok(correct as f64 / y.len().max(1) as f64)
}
