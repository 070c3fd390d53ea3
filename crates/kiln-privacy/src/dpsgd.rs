//! DP-SGD on Burn (Abadi et al. 2016): Poisson-sampled batches, each example's gradient
//! clipped to L2 norm `C`, Gaussian noise `N(0, (sigma C)^2)` added to the sum, division by the
//! expected batch size, then any Burn optimizer's step. Every step is recorded in a
//! [`Ledger`] so an accountant can report the privacy spent so far.
//!
//! Per-example gradients come from one of two paths that produce the same clipped sum:
//! - the general path ([`clipped_sum_microbatch`]): one backward pass per example (works for
//!   any Burn module and loss);
//! - the ghost-norm path for stacks of linear layers ([`crate::ghost`]): one backward pass per
//!   batch, per-example norms from layer inputs and output gradients.
//!
//! Clipping, noise and the update are done on the host in f64 (the gradients are read back
//! once per example or batch), so the privacy-critical arithmetic does not depend on a
//! backend's reductions or RNG.

use std::collections::HashMap;

use kiln_core::burn::module::{Module, ModuleVisitor, Param, ParamId};
use kiln_core::burn::optim::{GradientsParams, ModuleOptimizer};
use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::seed::{KilnRng, rng_stream};
use kiln_core::{KilnError, convert};
use rand::Rng;

use crate::errors::{PrivacyError, Result};
use crate::event::{BatchSampling, Ledger, check_delta, check_q, check_sigma};

/// Unchecked DP-SGD settings (builder; each value named, none positional).
///
/// ```
/// use kiln_privacy::dpsgd::DpSgdParams;
/// let params = DpSgdParams::new()
///     .clip_norm(1.0)
///     .noise_multiplier(1.1)
///     .sampling_rate(0.01)
///     .check()?;
/// assert_eq!(params.noise_multiplier(), 1.1);
/// # Ok::<(), kiln_privacy::PrivacyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct DpSgdParams {
    clip_norm: Option<f64>,
    noise_multiplier: Option<f64>,
    sampling_rate: Option<f64>,
    delta: Option<f64>,
    seed: u64,
}

impl DpSgdParams {
    /// Settings to fill in: the noise multiplier and the sampling rate have no default (a
    /// missing one is an error from [`check`](Self::check)); the clipping norm defaults to 1
    /// (Opacus's usual `max_grad_norm`), delta to 1e-5, the seed to 0.
    pub fn new() -> Self {
        Self::default()
    }
    /// Clipping norm C (> 0) of every per-example gradient.
    pub fn clip_norm(mut self, clip_norm: f64) -> Self {
        self.clip_norm = Some(clip_norm);
        self
    }
    /// Noise multiplier sigma (> 0): noise std = sigma * C (Abadi et al. 2016).
    pub fn noise_multiplier(mut self, sigma: f64) -> Self {
        self.noise_multiplier = Some(sigma);
        self
    }
    /// Poisson sampling rate q in (0, 1].
    pub fn sampling_rate(mut self, q: f64) -> Self {
        self.sampling_rate = Some(q);
        self
    }
    /// Target delta for the running epsilon.
    pub fn delta(mut self, delta: f64) -> Self {
        self.delta = Some(delta);
        self
    }
    /// Seed of batch sampling and noise.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Validates: `C > 0`, `sigma > 0`, `q` in (0, 1], `delta` in (0, 1).
    pub fn check(self) -> Result<DpSgdValidParams> {
        let clip_norm = self.clip_norm.unwrap_or(1.0);
        if !(clip_norm.is_finite() && clip_norm > 0.0) {
            return Err(PrivacyError::invalid(
                "clip_norm",
                clip_norm,
                "must be finite and > 0",
            ));
        }
        let noise_multiplier = self.noise_multiplier.ok_or_else(|| {
            PrivacyError::invalid(
                "noise_multiplier",
                "missing",
                "set it with .noise_multiplier(sigma)",
            )
        })?;
        let sampling_rate = self.sampling_rate.ok_or_else(|| {
            PrivacyError::invalid("sampling_rate", "missing", "set it with .sampling_rate(q)")
        })?;
        let delta = self.delta.unwrap_or(1e-5);
        check_sigma(noise_multiplier)?;
        check_q(sampling_rate)?;
        check_delta(delta)?;
        Ok(DpSgdValidParams(Valid {
            clip_norm,
            noise_multiplier,
            sampling_rate,
            delta,
            seed: self.seed,
        }))
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct Valid {
    clip_norm: f64,
    noise_multiplier: f64,
    sampling_rate: f64,
    delta: f64,
    seed: u64,
}

/// Checked DP-SGD settings (only [`DpSgdParams::check`] makes them).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct DpSgdValidParams(Valid);

impl DpSgdValidParams {
    /// Clipping norm C.
    pub fn clip_norm(&self) -> f64 {
        self.0.clip_norm
    }
    /// Noise multiplier sigma.
    pub fn noise_multiplier(&self) -> f64 {
        self.0.noise_multiplier
    }
    /// Poisson sampling rate q.
    pub fn sampling_rate(&self) -> f64 {
        self.0.sampling_rate
    }
    /// Target delta.
    pub fn delta(&self) -> f64 {
        self.0.delta
    }
}

/// The sum over a batch of clipped per-example gradients, on the host.
#[derive(Debug, Clone, Default)]
pub struct ClippedSum {
    /// Flattened sum per parameter.
    pub sums: HashMap<ParamId, Vec<f64>>,
    /// Each example's gradient norm before clipping.
    pub norms: Vec<f64>,
    /// Each example's gradient norm after clipping (for checks).
    pub clipped_norms: Vec<f64>,
}

impl ClippedSum {
    /// Adds one example's gradient (parameter -> flattened values), clipped to `clip`.
    pub fn add_example(&mut self, grads: Vec<(ParamId, Vec<f64>)>, clip: f64) -> Result<()> {
        let mut sq = 0.0;
        for (_, g) in &grads {
            kiln_core::error::ensure_finite(g, "per-example gradient")?;
            sq += g.iter().map(|v| v * v).sum::<f64>();
        }
        let norm = sq.sqrt();
        let factor = if norm > clip { clip / norm } else { 1.0 };
        self.norms.push(norm);
        self.clipped_norms.push(norm * factor);
        for (id, g) in grads {
            let acc = self.sums.entry(id).or_insert_with(|| vec![0.0; g.len()]);
            if acc.len() != g.len() {
                return Err(KilnError::shape("per-example gradient", acc.len(), g.len()).into());
            }
            for (a, v) in acc.iter_mut().zip(g) {
                *a += factor * v;
            }
        }
        Ok(())
    }
}

/// Reads every gradient the module's float parameters have in `grads`.
struct ReadGrads<'a> {
    grads: &'a GradientsParams,
    out: Vec<(ParamId, Vec<f64>)>,
    err: Option<KilnError>,
}

impl ModuleVisitor for ReadGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            match convert::to_vec_f64(&g) {
                Ok(v) => self.out.push((param.id, v)),
                Err(e) => self.err = Some(e),
            }
        }
    }
}

/// Reads a module's gradients to the host.
pub fn read_grads<M: Module>(
    model: &M,
    grads: &GradientsParams,
) -> Result<Vec<(ParamId, Vec<f64>)>> {
    let mut v = ReadGrads {
        grads,
        out: Vec::new(),
        err: None,
    };
    model.visit(&mut v);
    match v.err {
        Some(e) => Err(e.into()),
        None => Ok(v.out),
    }
}

/// General path: per-example gradients by one backward pass per example (micro-batches of
/// one), each clipped to `clip` and summed. `loss_of(model, i)` returns example `i`'s loss.
pub fn clipped_sum_microbatch<M: Module>(
    model: &M,
    batch: &[usize],
    clip: f64,
    mut loss_of: impl FnMut(&M, usize) -> kiln_core::Result<Tensor<1>>,
) -> Result<ClippedSum> {
    let mut sum = ClippedSum::default();
    for &i in batch {
        let loss = loss_of(model, i)?;
        let grads = GradientsParams::from_grads(loss.backward(), model);
        sum.add_example(read_grads(model, &grads)?, clip)?;
    }
    Ok(sum)
}

/// Standard normal draw on the host (kiln-core's shared `rand_distr` sampler), so noise is
/// reproducible from the seed alone.
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    kiln_core::numerics::standard_normal(rng)
}

/// Adds noise to the clipped sum, divides by the expected batch size and registers the
/// result as Burn gradients for every float parameter of the model.
struct NoisyGrads<'a> {
    sum: &'a ClippedSum,
    std: f64,
    denom: f64,
    rng: &'a mut KilnRng,
    out: GradientsParams,
    err: Option<KilnError>,
}

impl ModuleVisitor for NoisyGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let val = param.val();
        let dims = val.dims();
        let n: usize = dims.iter().product();
        let zero = vec![0.0; n];
        let s = self.sum.sums.get(&param.id).unwrap_or(&zero);
        let noisy: Vec<f32> = s
            .iter()
            .map(|v| ((v + self.std * standard_normal(self.rng)) / self.denom) as f32)
            .collect();
        match convert::tensor_f32(&noisy, dims, &val.device()) {
            Ok(t) => self.out.register::<D>(param.id, t.inner()),
            Err(e) => self.err = Some(e),
        }
    }
}

/// What one DP-SGD step did.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInfo {
    /// Examples sampled into the batch.
    pub batch_size: usize,
    /// Mean per-example gradient norm before clipping.
    pub mean_norm: f64,
    /// Fraction of examples whose gradient was clipped.
    pub clipped_fraction: f64,
}

/// The DP-SGD optimizer wrapper: samples batches, privatizes gradients, steps a Burn
/// optimizer, and keeps the privacy ledger.
pub struct DpSgd {
    params: DpSgdValidParams,
    optimizer: ModuleOptimizer,
    ledger: Ledger,
    sample_rng: KilnRng,
    noise_rng: KilnRng,
}

impl DpSgd {
    /// Wraps `optimizer` (e.g. `SgdConfig::new().init()`).
    pub fn new(params: DpSgdValidParams, optimizer: ModuleOptimizer) -> Self {
        let seed = params.0.seed;
        Self {
            params,
            optimizer,
            ledger: Ledger::new(),
            sample_rng: rng_stream(seed, 0),
            noise_rng: rng_stream(seed, 1),
        }
    }

    /// Continues from a saved ledger (the seed streams restart; pass a new seed to avoid
    /// reusing noise).
    pub fn resume(
        params: DpSgdValidParams,
        optimizer: ModuleOptimizer,
        ledger: Ledger,
    ) -> Result<Self> {
        ledger.validate()?;
        let mut s = Self::new(params, optimizer);
        s.ledger = ledger;
        Ok(s)
    }

    /// The settings.
    pub fn params(&self) -> &DpSgdValidParams {
        &self.params
    }

    /// The ledger so far.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Epsilon spent so far at the params' delta (RDP accountant; fast enough per step).
    pub fn epsilon(&self) -> Result<f64> {
        if self.ledger.is_empty() {
            return Ok(0.0);
        }
        crate::accountant::epsilon(
            crate::AccountantKind::Rdp,
            &self.ledger,
            self.params.delta(),
        )
    }

    /// A Poisson sample of `0..dataset_size`: each index independently with probability q.
    pub fn sample_batch(&mut self, dataset_size: usize) -> Vec<usize> {
        let q = self.params.sampling_rate();
        (0..dataset_size)
            .filter(|_| self.sample_rng.random::<f64>() < q)
            .collect()
    }

    /// The privatized gradient: `(sum + N(0, (sigma C)^2 I)) / (q N)` for every parameter.
    pub fn noisy_gradients<M: Module>(
        &mut self,
        model: &M,
        sum: &ClippedSum,
        dataset_size: usize,
    ) -> Result<GradientsParams> {
        let p = &self.params;
        let mut v = NoisyGrads {
            sum,
            std: p.noise_multiplier() * p.clip_norm(),
            denom: p.sampling_rate() * dataset_size as f64,
            rng: &mut self.noise_rng,
            out: GradientsParams::new(),
            err: None,
        };
        model.visit(&mut v);
        match v.err {
            Some(e) => Err(e.into()),
            None => Ok(v.out),
        }
    }

    /// Finishes a step from a clipped sum computed by either path: adds noise, steps the
    /// optimizer with learning rate `lr`, records the release in the ledger.
    pub fn apply<M: Module>(
        &mut self,
        model: M,
        lr: f64,
        dataset_size: usize,
        sum: &ClippedSum,
    ) -> Result<(M, StepInfo)> {
        let grads = self.noisy_gradients(&model, sum, dataset_size)?;
        let model = self.optimizer.step(lr, model, grads);
        self.ledger.record(
            BatchSampling::poisson(self.params.sampling_rate())
                .event(self.params.noise_multiplier())?,
            1,
        )?;
        let n = sum.norms.len();
        let clip = self.params.clip_norm();
        Ok((
            model,
            StepInfo {
                batch_size: n,
                mean_norm: if n == 0 {
                    0.0
                } else {
                    sum.norms.iter().sum::<f64>() / n as f64
                },
                clipped_fraction: if n == 0 {
                    0.0
                } else {
                    sum.norms.iter().filter(|&&v| v > clip).count() as f64 / n as f64
                },
            },
        ))
    }

    /// One full step on the general path: sample, per-example gradients by micro-batches of
    /// one, clip, noise, optimizer step, ledger.
    pub fn step<M: Module>(
        &mut self,
        model: M,
        lr: f64,
        dataset_size: usize,
        loss_of: impl FnMut(&M, usize) -> kiln_core::Result<Tensor<1>>,
    ) -> Result<(M, StepInfo)> {
        let batch = self.sample_batch(dataset_size);
        let sum = clipped_sum_microbatch(&model, &batch, self.params.clip_norm(), loss_of)?;
        self.apply(model, lr, dataset_size, &sum)
    }
}

/// Device helper for callers: an autodiff f32 device of `kind`.
pub fn autodiff_device(kind: kiln_core::BackendKind) -> Result<Device> {
    Ok(kiln_core::device(
        kind,
        kiln_core::Autodiff::On,
        kiln_core::Precision::F32,
    )?)
}
