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
use kiln_core::{KilnError, convert};

use crate::errors::{PrivacyError, Result};
use crate::event::{BatchSampling, DpEvent, Ledger, check_delta, check_q, check_sigma};
use crate::noise::{LatticeNoise, NoiseRng, NoiseSource};

/// Unchecked DP-SGD settings. Build with [`DpSgdParams::new`] and the setters (each value
/// named, none positional), then [`check`](DpSgdParams::check).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DpSgdParams {
    dataset_size: usize,
    clip_norm: f64,
    noise_multiplier: Option<f64>,
    sampling_rate: Option<f64>,
    delta: f64,
    noise: NoiseSource,
}

impl DpSgdParams {
    /// Settings for a dataset of `dataset_size` records, fixed for the whole run (Poisson
    /// sampling is over exactly these records, so the ledger records the mechanism that ran).
    /// Defaults: clipping norm 1, delta 1e-5, noise from the OS ([`NoiseSource::Secure`]).
    /// The noise multiplier and the sampling rate have no default: set both.
    pub fn new(dataset_size: usize) -> Self {
        Self {
            dataset_size,
            clip_norm: 1.0,
            noise_multiplier: None,
            sampling_rate: None,
            delta: 1e-5,
            noise: NoiseSource::Secure,
        }
    }
    /// Clipping norm C of each example's gradient.
    pub fn clip_norm(mut self, clip_norm: f64) -> Self {
        self.clip_norm = clip_norm;
        self
    }
    /// Noise multiplier sigma: the noise std is `sigma C`.
    pub fn noise_multiplier(mut self, sigma: f64) -> Self {
        self.noise_multiplier = Some(sigma);
        self
    }
    /// Poisson sampling rate q: each record joins a batch independently with probability q.
    pub fn sampling_rate(mut self, q: f64) -> Self {
        self.sampling_rate = Some(q);
        self
    }
    /// Sets the sampling rate to `batch_size / dataset_size` (the expected batch size).
    pub fn expected_batch_size(mut self, batch_size: usize) -> Self {
        self.sampling_rate = Some(batch_size as f64 / self.dataset_size.max(1) as f64);
        self
    }
    /// Target delta for the running epsilon.
    pub fn delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }
    /// NOT PRIVATE: draws batches and noise from a ChaCha20 stream seeded by `seed`, so a run
    /// can be repeated exactly (tests, experiments). Anyone who knows the seed can regenerate
    /// the noise and subtract it; the ledger records `private: false` and why.
    pub fn insecure_seed(mut self, seed: u64) -> Self {
        self.noise = NoiseSource::InsecureSeed(seed);
        self
    }
    /// Validates: dataset size >= 1, `C > 0`, `sigma > 0`, `q` in (0, 1], `delta` in (0, 1).
    pub fn check(self) -> Result<DpSgdValidParams> {
        if self.dataset_size == 0 {
            return Err(PrivacyError::invalid("dataset_size", 0, "must be >= 1"));
        }
        if !(self.clip_norm.is_finite() && self.clip_norm > 0.0) {
            return Err(PrivacyError::invalid(
                "clip_norm",
                self.clip_norm,
                "must be finite and > 0",
            ));
        }
        let sigma = self.noise_multiplier.ok_or_else(|| {
            PrivacyError::invalid("noise_multiplier", "unset", "set it (no default)")
        })?;
        let q = self.sampling_rate.ok_or_else(|| {
            PrivacyError::invalid("sampling_rate", "unset", "set it (no default)")
        })?;
        check_sigma(sigma)?;
        check_q(q)?;
        check_delta(self.delta)?;
        Ok(DpSgdValidParams {
            dataset_size: self.dataset_size,
            clip_norm: self.clip_norm,
            noise_multiplier: sigma,
            sampling_rate: q,
            delta: self.delta,
            noise: self.noise,
        })
    }
}

/// Checked DP-SGD settings (only [`DpSgdParams::check`] makes them).
#[derive(Debug, Clone, PartialEq)]
pub struct DpSgdValidParams {
    dataset_size: usize,
    clip_norm: f64,
    noise_multiplier: f64,
    sampling_rate: f64,
    delta: f64,
    noise: NoiseSource,
}

impl DpSgdValidParams {
    /// Clipping norm C.
    pub fn clip_norm(&self) -> f64 {
        self.clip_norm
    }
    /// Noise multiplier sigma.
    pub fn noise_multiplier(&self) -> f64 {
        self.noise_multiplier
    }
    /// Poisson sampling rate q.
    pub fn sampling_rate(&self) -> f64 {
        self.sampling_rate
    }
    /// Target delta.
    pub fn delta(&self) -> f64 {
        self.delta
    }
    /// The dataset size, fixed at construction.
    pub fn dataset_size(&self) -> usize {
        self.dataset_size
    }
    /// Where batches and noise come from.
    pub fn noise_source(&self) -> NoiseSource {
        self.noise
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
            kiln_core::errors::ensure_finite(g, "per-example gradient")?;
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

/// Registers the privatized gradients (already noised and scaled, flattened per parameter
/// in visiting order) as Burn gradients.
struct RegisterGrads<'a> {
    values: &'a HashMap<ParamId, Vec<f64>>,
    out: GradientsParams,
    err: Option<KilnError>,
}

impl ModuleVisitor for RegisterGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let val = param.val();
        let dims = val.dims();
        let Some(v) = self.values.get(&param.id) else {
            return;
        };
        let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        match convert::tensor_f32(&f, dims, &val.device()) {
            Ok(t) => self.out.register::<D>(param.id, t.inner()),
            Err(e) => self.err = Some(e),
        }
    }
}

/// Lists every float parameter's id and size, in visiting order.
struct ParamSizes(Vec<(ParamId, usize)>);

impl ModuleVisitor for ParamSizes {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, param.val().dims().iter().product()));
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

impl StepInfo {
    fn of(sum: &ClippedSum, clip: f64) -> Self {
        let n = sum.norms.len();
        let mean = |v: usize| if n == 0 { 0.0 } else { v as f64 / n as f64 };
        Self {
            batch_size: n,
            mean_norm: if n == 0 {
                0.0
            } else {
                sum.norms.iter().sum::<f64>() / n as f64
            },
            clipped_fraction: mean(sum.norms.iter().filter(|&&v| v > clip).count()),
        }
    }
}

/// A Poisson batch drawn by [`DpSgd::sample_batch`]: only DP-SGD can make one, so a step
/// applied with it is recorded as the Poisson-subsampled event that really ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoissonBatch {
    indices: Vec<usize>,
}

impl PoissonBatch {
    /// The sampled record indices.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
}

/// How a batch formed outside DP-SGD was drawn, declared by the caller and recorded as that
/// event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeclaredBatch {
    /// A known sampling scheme over the run's dataset (Poisson, or fixed-size with or without
    /// replacement): recorded as its event. Its dataset size must be the run's.
    Sampled(BatchSampling),
    /// Shuffled once per epoch and cut into batches (what most data loaders do): refused,
    /// since kiln has no sound accountant for shuffling and accounting it as Poisson would
    /// claim amplification that never happened.
    Shuffled {
        /// Batch size.
        batch_size: u64,
    },
}

/// The DP-SGD optimizer wrapper: samples batches, privatizes gradients, steps a Burn
/// optimizer, and keeps the privacy ledger.
pub struct DpSgd {
    params: DpSgdValidParams,
    optimizer: ModuleOptimizer,
    ledger: Ledger,
    sample_rng: NoiseRng,
    noise_rng: NoiseRng,
}

impl DpSgd {
    /// Wraps `optimizer` (e.g. `SgdConfig::new().init()`). Batches and noise come from two
    /// ChaCha20 streams seeded by the OS (or, with `insecure_seed`, from the seed — and the
    /// ledger then says the run is not private).
    pub fn new(params: DpSgdValidParams, optimizer: ModuleOptimizer) -> Result<Self> {
        let source = params.noise_source();
        let (sample_rng, noise_rng) = match source {
            NoiseSource::Secure => (source.rng()?, source.rng()?),
            NoiseSource::InsecureSeed(s) => (
                NoiseSource::InsecureSeed(s).rng()?,
                NoiseSource::InsecureSeed(s ^ 0x9E37_79B9_7F4A_7C15).rng()?,
            ),
        };
        let mut ledger = Ledger::new();
        if let Some(reason) = source.not_private_reason() {
            ledger.mark_not_private(reason);
        }
        Ok(Self {
            params,
            optimizer,
            ledger,
            sample_rng,
            noise_rng,
        })
    }

    /// Continues from a saved ledger (new random streams; a non-private ledger stays so).
    pub fn resume(
        params: DpSgdValidParams,
        optimizer: ModuleOptimizer,
        ledger: Ledger,
    ) -> Result<Self> {
        ledger.validate()?;
        let mut s = Self::new(params, optimizer)?;
        if let Some(reason) = ledger.not_private_reason() {
            s.ledger.mark_not_private(reason.to_string());
        }
        for e in ledger.entries() {
            s.ledger.record(e.event, e.count)?;
        }
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
        crate::accountant::epsilon(
            crate::AccountantKind::Rdp,
            &self.ledger,
            self.params.delta(),
        )
    }

    /// A Poisson sample of the run's dataset: each index independently with probability q,
    /// from the run's secure stream.
    pub fn sample_batch(&mut self) -> PoissonBatch {
        let q = self.params.sampling_rate();
        let n = self.params.dataset_size();
        let indices = (0..n).filter(|_| self.sample_rng.uniform() < q).collect();
        PoissonBatch { indices }
    }

    /// The privatized gradient of a Poisson step, `(sum + noise) / (q N)` for every float
    /// parameter: the clipped sum rounded to a lattice plus exact discrete Gaussian noise of
    /// std `sigma C` (see [`crate::noise`]). Does not step or record anything.
    pub fn noisy_gradients<M: Module>(
        &mut self,
        model: &M,
        sum: &ClippedSum,
    ) -> Result<GradientsParams> {
        let denom = self.params.sampling_rate() * self.params.dataset_size() as f64;
        self.noisy_gradients_over(model, sum, denom)
    }

    fn noisy_gradients_over<M: Module>(
        &mut self,
        model: &M,
        sum: &ClippedSum,
        denom: f64,
    ) -> Result<GradientsParams> {
        let mut sizes = ParamSizes(Vec::new());
        model.visit(&mut sizes);
        let dims: usize = sizes.0.iter().map(|(_, n)| n).sum();
        let p = &self.params;
        let lattice = LatticeNoise::new(p.clip_norm(), p.noise_multiplier(), dims.max(1))?;
        let mut flat = Vec::with_capacity(dims);
        for (id, n) in &sizes.0 {
            match sum.sums.get(id) {
                Some(v) if v.len() == *n => flat.extend_from_slice(v),
                Some(v) => {
                    return Err(KilnError::shape("clipped sum of a parameter", n, v.len()).into());
                }
                None => flat.extend(std::iter::repeat_n(0.0, *n)),
            }
        }
        let noisy = lattice.privatize(&flat, &mut self.noise_rng)?;
        let mut values = HashMap::new();
        let mut at = 0;
        for (id, n) in &sizes.0 {
            let v: Vec<f64> = noisy[at..at + n].iter().map(|x| x / denom).collect();
            values.insert(*id, v);
            at += n;
        }
        let mut reg = RegisterGrads {
            values: &values,
            out: GradientsParams::new(),
            err: None,
        };
        model.visit(&mut reg);
        match reg.err {
            Some(e) => Err(e.into()),
            None => Ok(reg.out),
        }
    }

    fn finish<M: Module>(
        &mut self,
        model: M,
        lr: f64,
        sum: &ClippedSum,
        event: DpEvent,
        denom: f64,
    ) -> Result<(M, StepInfo)> {
        let grads = self.noisy_gradients_over(&model, sum, denom)?;
        let model = self.optimizer.step(lr, model, grads);
        self.ledger.record(event, 1)?;
        Ok((model, StepInfo::of(sum, self.params.clip_norm())))
    }

    /// Finishes a step on a batch DP-SGD sampled itself (either gradient path): noise,
    /// optimizer step with learning rate `lr`, the Poisson event in the ledger. The update
    /// divides by the expected batch size `q N`.
    pub fn apply<M: Module>(
        &mut self,
        model: M,
        lr: f64,
        batch: &PoissonBatch,
        sum: &ClippedSum,
    ) -> Result<(M, StepInfo)> {
        if sum.norms.len() != batch.indices.len() {
            return Err(KilnError::shape(
                "clipped sum (examples)",
                batch.indices.len(),
                sum.norms.len(),
            )
            .into());
        }
        let p = &self.params;
        let event = BatchSampling::poisson(p.sampling_rate()).event(p.noise_multiplier())?;
        let denom = p.sampling_rate() * p.dataset_size() as f64;
        self.finish(model, lr, sum, event, denom)
    }

    /// Finishes a step on a batch formed outside DP-SGD, recorded as the declared scheme's
    /// event. Shuffled batches are refused; a declared dataset size other than the run's is a
    /// typed error.
    pub fn apply_declared<M: Module>(
        &mut self,
        model: M,
        lr: f64,
        batch: DeclaredBatch,
        sum: &ClippedSum,
    ) -> Result<(M, StepInfo)> {
        let n = self.params.dataset_size() as u64;
        let sigma = self.params.noise_multiplier();
        let sampling = match batch {
            DeclaredBatch::Shuffled { .. } => {
                return Err(PrivacyError::Unsupported {
                    event: "shuffled batches".into(),
                    accountant: "dp-sgd ledger".into(),
                    reason: "kiln has no sound accountant for shuffling; sample with \
                             DpSgd::sample_batch (Poisson) or declare independent fixed-size \
                             batches"
                        .into(),
                });
            }
            DeclaredBatch::Sampled(s) => s,
        };
        let (declared_n, denom) = match sampling {
            BatchSampling::Poisson { sampling_rate } => (n, sampling_rate * n as f64),
            BatchSampling::WithoutReplacement {
                dataset_size,
                batch_size,
            }
            | BatchSampling::WithReplacement {
                dataset_size,
                batch_size,
            } => (dataset_size, batch_size as f64),
        };
        if declared_n != n {
            return Err(PrivacyError::DatasetSizeChanged {
                expected: n,
                got: declared_n,
            });
        }
        let event = sampling.event(sigma)?;
        self.finish(model, lr, sum, event, denom)
    }

    /// One full step on the general path: Poisson sample, per-example gradients by
    /// micro-batches of one, clip, noise, optimizer step, ledger.
    pub fn step<M: Module>(
        &mut self,
        model: M,
        lr: f64,
        loss_of: impl FnMut(&M, usize) -> kiln_core::Result<Tensor<1>>,
    ) -> Result<(M, StepInfo)> {
        let batch = self.sample_batch();
        let sum = clipped_sum_microbatch(&model, &batch.indices, self.params.clip_norm(), loss_of)?;
        self.apply(model, lr, &batch, &sum)
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
