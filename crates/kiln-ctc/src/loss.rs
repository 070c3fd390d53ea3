//! [`CtcLoss`]: the batch API over plain slices (loss and gradient) and over Burn tensors
//! (autodiff through a surrogate, so training code just calls `.backward()`).

use kiln_core::burn::tensor::{DType, Int, Tensor, TensorData};
use kiln_core::{KilnError, convert, errors::ensure_finite};
use rayon::prelude::*;

use crate::dp::forward_backward;
use crate::errors::{CtcError, Result};
use crate::hyperparams::{CtcLossValidParams, InputKind, Reduction};
use crate::lse::log_softmax_in_place;
use crate::targets::Targets;

/// Element types the host path accepts (the recursions themselves always run in f64).
pub trait CtcFloat: Copy + Send + Sync + Into<f64> + 'static {
    /// Narrows an f64 result to this type.
    fn from_f64(v: f64) -> Self;
}

impl CtcFloat for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl CtcFloat for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// A loss value: one per sample (reduction none) or one number.
#[derive(Debug, Clone, PartialEq)]
pub enum LossValue {
    /// Reduction none.
    PerSample(Vec<f64>),
    /// Reduction mean or sum.
    Scalar(f64),
}

impl LossValue {
    /// The values as a vector (length 1 for a scalar).
    pub fn to_vec(&self) -> Vec<f64> {
        match self {
            LossValue::PerSample(v) => v.clone(),
            LossValue::Scalar(x) => vec![*x],
        }
    }
}

/// What [`CtcLoss::compute`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct CtcOutput<F> {
    /// Per-sample negative log-likelihood, after `zero_infinity`, before reduction.
    pub per_sample: Vec<f64>,
    /// The reduced loss.
    pub loss: LossValue,
    /// Gradient of the reduced loss (of the sum of per-sample losses for reduction none) with
    /// respect to the input, `[T, N, C]` row-major; zero on padding frames and on infeasible
    /// samples. PyTorch returns NaN there when `zero_infinity` is off; kiln returns zero so a
    /// single impossible sample cannot poison a whole batch update.
    pub grad: Option<Vec<F>>,
    /// Whether each sample's target can be emitted in its input length.
    pub feasible: Vec<bool>,
}

impl<F: CtcFloat> CtcOutput<F> {
    /// The largest absolute gradient entry (`max |g|`), when the gradient was computed.
    pub fn max_abs_grad(&self) -> Option<f64> {
        self.grad
            .as_ref()
            .map(|g| g.iter().fold(0.0f64, |m, &v| m.max(v.into().abs())))
    }
}

/// Connectionist temporal classification loss (Graves et al. 2006), PyTorch semantics.
///
/// Build it with [`crate::CtcLossParams`]:
///
/// ```
/// use kiln_ctc::{CtcLoss, CtcLossParams, Reduction, Targets};
/// let loss = CtcLoss::new(CtcLossParams::new().reduction(Reduction::Sum).check()?);
/// // T = 2 frames, N = 1 sample, C = 2 classes (blank 0), uniform log-probabilities.
/// let lp = vec![0.5f64.ln(); 4];
/// let out = loss.compute(&lp, [2, 1, 2], &Targets::from_sequences(&[vec![1]]), &[2], true)?;
/// // Paths "1 1", "0 1", "1 0" collapse to [1]: P = 3/4.
/// assert!((out.loss.to_vec()[0] + 0.75f64.ln()).abs() < 1e-12);
/// # Ok::<(), kiln_ctc::CtcError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CtcLoss {
    params: CtcLossValidParams,
}

struct Checked {
    t_max: usize,
    n: usize,
    c: usize,
    lengths: Vec<usize>,
    targets: Vec<Vec<usize>>,
}

impl CtcLoss {
    /// The loss for checked parameters.
    pub fn new(params: CtcLossValidParams) -> Self {
        Self { params }
    }

    /// The checked parameters.
    pub fn params(&self) -> &CtcLossValidParams {
        &self.params
    }

    fn check_inputs<F: CtcFloat>(
        &self,
        input: &[F],
        dims: [usize; 3],
        targets: &Targets,
        input_lengths: &[i64],
    ) -> Result<Checked> {
        let [t_max, n, c] = dims;
        let total = kiln_core::errors::checked_len(&dims, "CTC input [T, N, C]")?;
        if input.len() != total {
            return Err(KilnError::shape(
                "CTC input [T, N, C]",
                format!("{total} values for {dims:?}"),
                format!("{} values", input.len()),
            )
            .into());
        }
        let blank = self.params.blank;
        if blank >= c {
            return Err(CtcError::BlankOutOfRange { blank, classes: c });
        }
        if let Some(declared) = self.params.classes
            && declared != c
        {
            return Err(KilnError::shape("CTC classes", declared, c).into());
        }
        if input_lengths.len() != n || targets.batch_size() != n {
            return Err(KilnError::shape(
                "CTC batch size",
                format!("{n} input lengths and {n} target lengths"),
                format!(
                    "{} input lengths and {} target lengths",
                    input_lengths.len(),
                    targets.batch_size()
                ),
            )
            .into());
        }
        let lengths = input_lengths
            .iter()
            .enumerate()
            .map(|(sample, &value)| {
                if value < 0 {
                    Err(CtcError::NegativeLength {
                        which: "input",
                        sample,
                        value,
                    })
                } else if value as u64 > t_max as u64 {
                    Err(CtcError::LengthOutOfRange {
                        which: "input",
                        sample,
                        value,
                        max: t_max,
                    })
                } else {
                    Ok(value as usize)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        ensure_finite(input, "CTC input")?;
        let targets = targets.resolve(c, blank)?;
        Ok(Checked {
            t_max,
            n,
            c,
            lengths,
            targets,
        })
    }

    /// Loss (and, with `with_grad`, its gradient) of a `[T, N, C]` row-major input.
    pub fn compute<F: CtcFloat>(
        &self,
        input: &[F],
        dims: [usize; 3],
        targets: &Targets,
        input_lengths: &[i64],
        with_grad: bool,
    ) -> Result<CtcOutput<F>> {
        let ck = self.check_inputs(input, dims, targets, input_lengths)?;
        let (n, c) = (ck.n, ck.c);
        let blank = self.params.blank;
        let logits = self.params.input == InputKind::Logits;
        let weights: Vec<f64> = match self.params.reduction {
            Reduction::None | Reduction::Sum => vec![1.0; n],
            Reduction::Mean => ck
                .targets
                .iter()
                .map(|t| 1.0 / (t.len().max(1) as f64 * n as f64))
                .collect(),
        };
        // Per sample, in parallel: the loss and the weighted gradient rows `[t_len, C]`.
        let results: Vec<(f64, Option<Vec<f64>>)> = (0..n)
            .into_par_iter()
            .map(|b| {
                let t_len = ck.lengths[b];
                let mut lp = Vec::with_capacity(t_len * c);
                for t in 0..t_len {
                    let start = (t * n + b) * c;
                    lp.extend(input[start..start + c].iter().map(|&v| v.into()));
                    if logits {
                        log_softmax_in_place(&mut lp[t * c..]);
                    }
                }
                let r = forward_backward(&lp, t_len, c, &ck.targets[b], blank, with_grad);
                let w = weights[b];
                let grad = r.posterior.map(|mut post| {
                    for (g, &l) in post.iter_mut().zip(&lp) {
                        let v = if logits { l.exp() - *g } else { -*g };
                        *g = w * v;
                    }
                    post
                });
                (r.nll, grad)
            })
            .collect();

        let feasible: Vec<bool> = results.iter().map(|(nll, _)| nll.is_finite()).collect();
        let per_sample: Vec<f64> = results
            .iter()
            .map(|&(nll, _)| {
                if !nll.is_finite() && self.params.zero_infinity {
                    0.0
                } else {
                    nll
                }
            })
            .collect();
        let loss = match self.params.reduction {
            Reduction::None => LossValue::PerSample(per_sample.clone()),
            Reduction::Sum => LossValue::Scalar(per_sample.iter().sum()),
            Reduction::Mean => {
                LossValue::Scalar(per_sample.iter().zip(&weights).map(|(l, w)| l * w).sum())
            }
        };
        let grad = with_grad.then(|| {
            let mut g = vec![F::from_f64(0.0); ck.t_max * n * c];
            for (b, (_, rows)) in results.iter().enumerate() {
                let Some(rows) = rows else { continue };
                for (t, row) in rows.chunks_exact(c).enumerate() {
                    let out = &mut g[(t * n + b) * c..(t * n + b + 1) * c];
                    for (o, &v) in out.iter_mut().zip(row) {
                        *o = F::from_f64(v);
                    }
                }
            }
            g
        });
        Ok(CtcOutput {
            per_sample,
            loss,
            grad,
            feasible,
        })
    }

    /// The loss of a `[T, N, C]` tensor, differentiable when the tensor is on an autodiff
    /// device: the host recursions give the value and the gradient `g`, and the returned tensor
    /// is `loss + sum(input * g) - detach(sum(input * g))`, whose value is the loss and whose
    /// gradient is `g`. Shape `[N]` for reduction none, `[1]` otherwise; dtype of the input.
    pub fn forward(
        &self,
        input: Tensor<3>,
        targets: &Targets,
        input_lengths: &[i64],
    ) -> Result<Tensor<1>> {
        let dims = input.dims();
        let device = input.device();
        let need_grad = input.is_autodiff();
        let is_f64 = input.dtype() == DType::F64;
        let (loss, grad) = if is_f64 {
            let x = convert::to_vec_f64(&input)?;
            let out = self.compute(&x, dims, targets, input_lengths, need_grad)?;
            (out.loss.to_vec(), out.grad)
        } else {
            let x = convert::to_vec_f32(&input)?;
            let out = self.compute(&x, dims, targets, input_lengths, need_grad)?;
            let g = out
                .grad
                .map(|g| g.into_iter().map(f64::from).collect::<Vec<f64>>());
            (out.loss.to_vec(), g)
        };
        let make = |values: &[f64], shape: Vec<usize>| -> Result<TensorData> {
            Ok(if is_f64 {
                TensorData::new(values.to_vec(), shape)
            } else {
                TensorData::new(
                    values.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
                    shape,
                )
            })
        };
        let dtype = if is_f64 { DType::F64 } else { DType::F32 };
        let loss_t = Tensor::<1>::from_data(make(&loss, vec![loss.len()])?, (&device, dtype));
        let Some(g) = grad else {
            return Ok(loss_t);
        };
        let g_t = Tensor::<3>::from_data(make(&g, dims.to_vec())?, (&device, dtype));
        let prod = input * g_t;
        let surrogate: Tensor<1> = match self.params.reduction {
            Reduction::None => prod.sum_dim(2).sum_dim(0).reshape([dims[1]]),
            _ => prod.sum().reshape([1]),
        };
        Ok(surrogate.clone() - surrogate.detach() + loss_t)
    }

    /// The same loss through Burn's own `CTCLoss` op (the path for GPU devices, where Burn
    /// fuses it), with kiln's validation in front and PyTorch's reductions and
    /// `zero_infinity` behind. Burn's op is not given infeasible samples: their loss is set
    /// directly (`+inf`, or 0 with `zero_infinity`), since Burn's own feasibility check is wrong.
    pub fn forward_burn(
        &self,
        input: Tensor<3>,
        targets: &Targets,
        input_lengths: &[i64],
    ) -> Result<Tensor<1>> {
        use kiln_core::burn::nn::loss::CTCLossConfig;
        use kiln_core::burn::tensor::activation::log_softmax;
        let dims = input.dims();
        let device = input.device();
        let host = convert::to_vec_f64(&input)?;
        let ck = self.check_inputs(&host, dims, targets, input_lengths)?;
        let lp = match self.params.input {
            InputKind::Logits => log_softmax(input, 2),
            InputKind::LogProbs => input,
        };
        let s_max = ck.targets.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let n = ck.n;
        let mut padded = vec![0i64; n * s_max];
        let feasible: Vec<bool> = (0..n)
            .map(|b| crate::targets::min_input_length(&ck.targets[b]) <= ck.lengths[b])
            .collect();
        // Infeasible samples get an empty target (always feasible) and are overwritten below.
        let mut tl = vec![0i64; n];
        for b in 0..n {
            if feasible[b] {
                for (i, &l) in ck.targets[b].iter().enumerate() {
                    padded[b * s_max + i] = l as i64;
                }
                tl[b] = ck.targets[b].len() as i64;
            }
        }
        let il: Vec<i64> = ck.lengths.iter().map(|&l| l as i64).collect();
        let int2 = |v: Vec<i64>, shape: Vec<usize>| {
            Tensor::<2, Int>::from_data(TensorData::new(v, shape), &device)
        };
        let int1 = |v: Vec<i64>| {
            let len = v.len();
            Tensor::<1, Int>::from_data(TensorData::new(v, [len]), &device)
        };
        let op = CTCLossConfig::new().with_blank(self.params.blank).init();
        let raw = op.forward(lp, int2(padded, vec![n, s_max]), int1(il), int1(tl));
        let dtype = raw.dtype();
        let keep: Vec<f64> = feasible
            .iter()
            .map(|&f| if f { 1.0 } else { 0.0 })
            .collect();
        let fill: Vec<f64> = feasible
            .iter()
            .map(|&f| {
                if f || self.params.zero_infinity {
                    0.0
                } else {
                    f64::INFINITY
                }
            })
            .collect();
        let keep_t = Tensor::<1>::from_data(TensorData::new(keep, [n]), (&device, dtype));
        let fill_t = Tensor::<1>::from_data(TensorData::new(fill, [n]), (&device, dtype));
        let per_sample = raw * keep_t + fill_t;
        Ok(match self.params.reduction {
            Reduction::None => per_sample,
            Reduction::Sum => per_sample.sum().reshape([1]),
            Reduction::Mean => {
                let w: Vec<f64> = ck
                    .targets
                    .iter()
                    .map(|t| 1.0 / (t.len().max(1) as f64 * n as f64))
                    .collect();
                let w_t = Tensor::<1>::from_data(TensorData::new(w, [n]), (&device, dtype));
                (per_sample * w_t).sum().reshape([1])
            }
        })
    }
}
