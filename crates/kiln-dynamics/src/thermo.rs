//! A thermodynamic model of promoter activity (Shea & Ackers 1985; Bintu et al. 2005): a
//! transcription factor binds site `p` of a sequence with free energy
//! `E_p = sum_k PWM[k, s_{p+k}]` (kT units), Boltzmann weight `w_p = exp(mu - E_p)`; occupancy
//! `theta` follows from `W = sum_p w_p` ([`Occupancy`]); expression is `basal + amplitude * theta`.
//!
//! [`ThermoModel::predict`] evaluates it on the host in f64; [`ThermoModel::fit`] fits every
//! parameter (PWM, `mu`, amplitude, basal) by full-batch Adam on Burn's autodiff, minimizing the
//! mean squared error. The PWM has a gauge freedom (adding `c_k` to the four energies of
//! position `k` shifts every site by `sum c_k`, which `mu` absorbs), so energies are compared
//! after [`ThermoModel::gauge_fixed`] (each position's energies centred to mean zero).

use kiln_core::burn;
use kiln_core::burn::module::{Module, Param};
use kiln_core::burn::optim::{AdamConfig, GradientsParams};
use kiln_core::burn::tensor::Tensor;
use kiln_core::burn::tensor::activation::sigmoid;
use kiln_core::{Autodiff, BackendKind, KilnError, Precision, Progress, convert};
use serde::Serialize;

use crate::errors::{DynamicsError, Result};
use crate::hyperparams::{Occupancy, ThermoFitValidParams};

/// The bases in one-hot order.
pub const BASES: [char; 4] = ['A', 'C', 'G', 'T'];

/// Equal-length DNA sequences, checked once (letters A, C, G, T, case-insensitive).
#[derive(Debug, Clone, PartialEq)]
pub struct Sequences {
    length: usize,
    codes: Vec<u8>,
}

impl Sequences {
    /// Parses sequences; all must have the same non-zero length.
    pub fn from_strings<S: AsRef<str>>(seqs: &[S]) -> Result<Self> {
        let first = seqs
            .first()
            .ok_or_else(|| KilnError::Empty("sequences".into()))?;
        let length = first.as_ref().chars().count();
        if length == 0 {
            return Err(KilnError::Empty("sequence 0".into()).into());
        }
        let mut codes = Vec::with_capacity(seqs.len() * length);
        for (i, s) in seqs.iter().enumerate() {
            let before = codes.len();
            for (pos, ch) in s.as_ref().chars().enumerate() {
                let code = BASES
                    .iter()
                    .position(|b| *b == ch.to_ascii_uppercase())
                    .ok_or(DynamicsError::BadBase {
                        sequence: i,
                        position: pos,
                        symbol: ch,
                    })?;
                codes.push(code as u8);
            }
            if codes.len() - before != length {
                return Err(KilnError::shape(
                    format!("sequence {i}"),
                    format!("{length} bases"),
                    codes.len() - before,
                )
                .into());
            }
        }
        Ok(Self { length, codes })
    }

    /// Builds from base codes (0..4 = A, C, G, T), `length` per sequence.
    pub fn from_codes(codes: Vec<u8>, length: usize) -> Result<Self> {
        if length == 0 || codes.is_empty() {
            return Err(KilnError::Empty("sequences".into()).into());
        }
        if !codes.len().is_multiple_of(length) {
            return Err(KilnError::shape(
                "sequence codes",
                format!("a multiple of {length}"),
                codes.len(),
            )
            .into());
        }
        if let Some(i) = codes.iter().position(|c| *c > 3) {
            return Err(DynamicsError::BadBase {
                sequence: i / length,
                position: i % length,
                symbol: char::from(b'0' + codes[i].min(9)),
            });
        }
        Ok(Self { length, codes })
    }

    /// Number of sequences.
    pub fn count(&self) -> usize {
        self.codes.len() / self.length
    }

    /// Length of each sequence.
    pub fn length(&self) -> usize {
        self.length
    }

    /// Sequence `i` as base codes.
    pub fn codes(&self, i: usize) -> Option<&[u8]> {
        self.codes.get(i * self.length..(i + 1) * self.length)
    }

    /// All codes, row-major.
    pub fn all_codes(&self) -> &[u8] {
        &self.codes
    }

    /// GC fraction of each sequence.
    pub fn gc_content(&self) -> Vec<f64> {
        self.codes
            .chunks(self.length)
            .map(|s| s.iter().filter(|&&c| c == 1 || c == 2).count() as f64 / self.length as f64)
            .collect()
    }

    /// One-hot encoding `[N, 4, L]` (channels first, for a Conv1d), f32 row-major.
    pub fn one_hot_channels(&self) -> Vec<f32> {
        let (n, l) = (self.count(), self.length);
        let mut out = vec![0.0f32; n * 4 * l];
        for (i, s) in self.codes.chunks(l).enumerate() {
            for (p, &c) in s.iter().enumerate() {
                out[(i * 4 + c as usize) * l + p] = 1.0;
            }
        }
        out
    }

    /// One-hot windows `[N, P, width * 4]` with `P = L - width + 1` binding positions.
    fn windows(&self, width: usize) -> Vec<f32> {
        let (n, l) = (self.count(), self.length);
        let positions = l - width + 1;
        let mut out = vec![0.0f32; n * positions * width * 4];
        for (i, s) in self.codes.chunks(l).enumerate() {
            for p in 0..positions {
                let base = (i * positions + p) * width * 4;
                for k in 0..width {
                    out[base + k * 4 + s[p + k] as usize] = 1.0;
                }
            }
        }
        out
    }
}

/// A thermodynamic promoter model. Build it with named fields; [`predict`](Self::predict) and
/// [`fit`](Self::fit) validate it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThermoModel {
    /// Binding energies in kT, row-major `[width, 4]` (A, C, G, T); lower binds tighter.
    pub energies: Vec<f64>,
    /// Chemical potential of the factor (kT): `w_p = exp(mu - E_p)`.
    pub mu: f64,
    /// Expression at full occupancy minus basal.
    pub amplitude: f64,
    /// Expression at zero occupancy.
    pub basal: f64,
    /// Occupancy form.
    pub occupancy: Occupancy,
}

/// What a fit produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThermoFit {
    /// The fitted model.
    pub model: ThermoModel,
    /// Mean squared error per step.
    pub loss: Vec<f64>,
}

#[derive(Module, Debug)]
struct ThermoNet {
    energies: Param<Tensor<2>>,
    mu: Param<Tensor<1>>,
    amplitude: Param<Tensor<1>>,
    basal: Param<Tensor<1>>,
}

impl ThermoNet {
    /// Predictions `[N]` from one-hot windows `[N, P, width * 4]`.
    fn forward(&self, windows: Tensor<3>, hill: f64) -> Tensor<1> {
        let [n, p, k] = windows.dims();
        let e = windows
            .reshape([n * p, k])
            .matmul(self.energies.val())
            .reshape([n, p]);
        let a = self.mu.val().reshape([1, 1]) - e;
        let m = a.clone().max_dim(1).detach();
        let lse = m.clone() + (a - m).exp().sum_dim(1).log();
        let theta = sigmoid(lse.mul_scalar(hill));
        let y = self.basal.val().reshape([1, 1]) + self.amplitude.val().reshape([1, 1]) * theta;
        y.reshape([n])
    }
}

fn hill_exponent(o: Occupancy) -> f64 {
    match o {
        Occupancy::Boltzmann => 1.0,
        Occupancy::Hill(n) => n,
    }
}

impl ThermoModel {
    /// Motif width (`energies.len() / 4`).
    pub fn width(&self) -> usize {
        self.energies.len() / 4
    }

    fn validate(&self, seqs: &Sequences) -> Result<()> {
        if self.energies.is_empty() || !self.energies.len().is_multiple_of(4) {
            return Err(KilnError::shape(
                "PWM energies",
                "a non-zero multiple of 4 values ([width, 4])",
                self.energies.len(),
            )
            .into());
        }
        kiln_core::errors::ensure_finite(&self.energies, "PWM energies")?;
        kiln_core::errors::ensure_finite(&[self.mu, self.amplitude, self.basal], "model scalars")?;
        if let Occupancy::Hill(n) = self.occupancy
            && !(n.is_finite() && n > 0.0)
        {
            return Err(DynamicsError::invalid(
                "hill_n",
                n,
                "must be finite and > 0",
            ));
        }
        if self.width() > seqs.length() {
            return Err(DynamicsError::invalid(
                "motif width",
                self.width(),
                &format!("longer than the sequences ({})", seqs.length()),
            ));
        }
        Ok(())
    }

    /// Occupancy of each sequence (host, f64, log-sum-exp stabilized).
    pub fn occupancy(&self, seqs: &Sequences) -> Result<Vec<f64>> {
        self.validate(seqs)?;
        let w = self.width();
        let n = hill_exponent(self.occupancy);
        Ok(seqs
            .codes
            .chunks(seqs.length)
            .map(|s| {
                let a: Vec<f64> = (0..=s.len() - w)
                    .map(|p| {
                        let e: f64 = (0..w)
                            .map(|k| self.energies[k * 4 + s[p + k] as usize])
                            .sum();
                        self.mu - e
                    })
                    .collect();
                let m = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + a.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                1.0 / (1.0 + (-n * lse).exp())
            })
            .collect())
    }

    /// Expression of each sequence: `basal + amplitude * theta`.
    pub fn predict(&self, seqs: &Sequences) -> Result<Vec<f64>> {
        Ok(self
            .occupancy(seqs)?
            .into_iter()
            .map(|t| self.basal + self.amplitude * t)
            .collect())
    }

    /// The same model in the gauge where each position's four energies have mean zero (`mu`
    /// shifted to compensate): two models predict identically iff their gauge-fixed forms
    /// agree.
    pub fn gauge_fixed(&self) -> ThermoModel {
        let mut out = self.clone();
        for k in 0..self.width() {
            let row = &mut out.energies[k * 4..(k + 1) * 4];
            let mean = row.iter().sum::<f64>() / 4.0;
            row.iter_mut().for_each(|v| *v -= mean);
            out.mu -= mean;
        }
        out
    }

    /// Fits a model of `params.motif_width()` to `targets` by full-batch Adam on `backend`.
    ///
    /// Starts from energies drawn N(0, `init_sd`^2) (host RNG from `params.seed()`), `mu = -ln P`
    /// (P binding positions, so that the initial occupancy is 1/2),
    /// `basal = min(targets)` and `amplitude = 2 * (max - min)`; runs `params.restarts()`
    /// fits from independent initial energies and keeps the one with the lowest final training
    /// loss (the loss is not convex in the energies: a fit can settle on a PWM that prefers GC
    /// everywhere). Progress goes to `progress`, one unit per step.
    pub fn fit(
        seqs: &Sequences,
        targets: &[f64],
        params: &ThermoFitValidParams,
        backend: BackendKind,
        progress: &dyn Progress,
    ) -> Result<ThermoFit> {
        let w = params.motif_width();
        if targets.len() != seqs.count() {
            return Err(KilnError::shape("targets", seqs.count(), targets.len()).into());
        }
        kiln_core::errors::ensure_finite(targets, "targets")?;
        if w > seqs.length() {
            return Err(DynamicsError::invalid(
                "motif_width",
                w,
                &format!("longer than the sequences ({})", seqs.length()),
            ));
        }
        let dev = kiln_core::device(backend, Autodiff::On, Precision::F32)?;
        let mut best: Option<ThermoFit> = None;
        for restart in 0..params.restarts() as u64 {
            let fit = Self::fit_once(seqs, targets, params, restart, &dev, progress)?;
            let last = |f: &ThermoFit| f.loss.last().copied().unwrap_or(f64::INFINITY);
            if best.as_ref().is_none_or(|b| last(&fit) < last(b)) {
                best = Some(fit);
            }
        }
        best.ok_or_else(|| KilnError::Empty("fit restarts".into()).into())
    }

    /// One restart of [`fit`](Self::fit).
    fn fit_once(
        seqs: &Sequences,
        targets: &[f64],
        params: &ThermoFitValidParams,
        restart: u64,
        dev: &kiln_core::burn::tensor::Device,
        progress: &dyn Progress,
    ) -> Result<ThermoFit> {
        let w = params.motif_width();
        let dev = dev.clone();
        let (n, positions) = (seqs.count(), seqs.length() - w + 1);
        let windows = convert::tensor_f32(&seqs.windows(w), [n, positions, w * 4], &dev)?;
        let y: Vec<f32> = targets.iter().map(|&v| v as f32).collect();
        let y = convert::tensor_f32(&y, [n], &dev)?;
        let lo = targets.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = targets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let scalar = |v: f64| -> Result<Param<Tensor<1>>> {
            Ok(Param::from_tensor(convert::tensor_f32(
                &[v as f32],
                [1],
                &dev,
            )?))
        };
        let mut net = ThermoNet {
            energies: Param::from_tensor(convert::tensor_f32(
                &initial_energies(params, restart),
                [w * 4, 1],
                &dev,
            )?),
            // W = P e^mu = 1 at the start: occupancy 1/2, where the sigmoid is steepest.
            mu: scalar(-(positions as f64).ln())?,
            amplitude: scalar(2.0 * (hi - lo).max(1e-3))?,
            basal: scalar(lo)?,
        };
        let hill = hill_exponent(params.occupancy());
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        let mut loss = Vec::with_capacity(params.steps());
        for _ in 0..params.steps() {
            let pred = net.forward(windows.clone(), hill);
            let mse = (pred - y.clone()).powi_scalar(2).mean();
            let v = convert::scalar_f64(&mse)?;
            kiln_core::errors::ensure_finite(&[v], "thermodynamic-model loss")?;
            loss.push(v);
            let grads = GradientsParams::from_grads(mse.backward(), &net);
            net = optim.step(params.lr(), net, grads);
            progress.inc(1);
        }
        let energies = convert::to_vec_f64(&net.energies.val())?;
        let read = |p: &Param<Tensor<1>>| convert::scalar_f64(&p.val());
        Ok(ThermoFit {
            model: ThermoModel {
                energies,
                mu: read(&net.mu)?,
                amplitude: read(&net.amplitude)?,
                basal: read(&net.basal)?,
                occupancy: params.occupancy(),
            },
            loss,
        })
    }
}

fn initial_energies(params: &ThermoFitValidParams, restart: u64) -> Vec<f32> {
    use rand_distr::Distribution;
    let mut rng = kiln_core::seed::rng_stream(params.seed(), restart);
    let n = params.motif_width() * 4;
    match rand_distr::Normal::new(0.0, params.init_sd()) {
        Ok(d) => (0..n).map(|_| d.sample(&mut rng) as f32).collect(),
        Err(_) => vec![0.0; n],
    }
}

/// Coefficient of determination `1 - SS_res / SS_tot` of `pred` against `truth`.
pub fn r_squared(pred: &[f64], truth: &[f64]) -> Result<f64> {
    if pred.len() != truth.len() {
        return Err(KilnError::shape("r_squared", truth.len(), pred.len()).into());
    }
    if truth.len() < 2 {
        return Err(KilnError::Empty("r_squared needs at least 2 values".into()).into());
    }
    kiln_core::errors::ensure_finite(pred, "predictions")?;
    kiln_core::errors::ensure_finite(truth, "truth")?;
    let mean = truth.iter().sum::<f64>() / truth.len() as f64;
    let tot: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let res: f64 = pred.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum();
    if tot == 0.0 {
        return Err(DynamicsError::invalid(
            "truth",
            "constant",
            "R^2 is undefined for constant targets",
        ));
    }
    Ok(1.0 - res / tot)
}
