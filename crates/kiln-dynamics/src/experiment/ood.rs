//! Part 3: a ground-truth thermodynamic model labels synthetic promoters; in the training
//! distribution the background GC content tracks the quality of the planted binding site (a
//! shortcut), out of distribution the relation is reversed. A small CNN and the mechanistic
//! model ([`ThermoModel`]) are trained on the same data and scored by R^2 on both test sets.

use kiln_core::burn;
use kiln_core::burn::module::Module;
use kiln_core::burn::nn::conv::{Conv1d, Conv1dConfig};
use kiln_core::burn::nn::{Linear, LinearConfig};
use kiln_core::burn::optim::{AdamConfig, GradientsParams};
use kiln_core::burn::tensor::activation::relu;
use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::{Autodiff, ExperimentConfig, Precision, convert};
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use crate::errors::Result;
use crate::hyperparams::{Occupancy, OodValidParams, ThermoFitParams};
use crate::thermo::{Sequences, ThermoModel, r_squared};

/// Width of the planted and fitted motif.
pub const MOTIF_WIDTH: usize = 6;
/// Consensus of the ground-truth factor (half G/C, so the site itself carries no GC signal).
pub const CONSENSUS: [u8; MOTIF_WIDTH] = [3, 0, 1, 2, 1, 0]; // T A C G C A
/// Mismatch penalties (kT) of each motif position.
pub const PENALTIES: [f64; MOTIF_WIDTH] = [1.5, 2.5, 2.0, 3.0, 2.0, 1.5];
/// Chemical potential of the ground truth.
pub const MU: f64 = 3.0;

/// The ground-truth model: consensus energy 0, each mismatch at position `k` costs
/// `PENALTIES[k]`; `mu = 3`, basal 0.05, amplitude 1.
pub fn ground_truth() -> ThermoModel {
    let mut energies = vec![0.0; MOTIF_WIDTH * 4];
    for k in 0..MOTIF_WIDTH {
        for b in 0..4 {
            if b as u8 != CONSENSUS[k] {
                energies[k * 4 + b] = PENALTIES[k];
            }
        }
    }
    ThermoModel {
        energies,
        mu: MU,
        amplitude: 1.0,
        basal: 0.05,
        occupancy: Occupancy::Boltzmann,
    }
}

/// Which test distribution a data set follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    /// GC content rises with site quality (training and in-distribution test).
    InDistribution,
    /// GC content falls with site quality.
    Reversed,
}

/// `n` sequences with one planted site of 0-4 mismatches, background GC following `shift`,
/// labelled by the ground truth plus Gaussian noise.
pub fn dataset(
    n: usize,
    params: &OodValidParams,
    shift: Shift,
    rng: &mut impl Rng,
) -> Result<(Sequences, Vec<f64>)> {
    let l = params.length();
    let mut codes = Vec::with_capacity(n * l);
    for _ in 0..n {
        let mismatches = rng.random_range(0..=4usize);
        let q = 1.0 - mismatches as f64 / 4.0;
        let sign = match shift {
            Shift::InDistribution => 1.0,
            Shift::Reversed => -1.0,
        };
        let gc = 0.5 + sign * 0.3 * params.spurious() * (2.0 * q - 1.0);
        let mut s: Vec<u8> = (0..l)
            .map(|_| {
                let strong = rng.random_bool(gc);
                let first = rng.random_bool(0.5);
                match (strong, first) {
                    (true, true) => 1,
                    (true, false) => 2,
                    (false, true) => 0,
                    (false, false) => 3,
                }
            })
            .collect();
        let mut site = CONSENSUS;
        let mut positions: Vec<usize> = (0..MOTIF_WIDTH).collect();
        positions.shuffle(rng);
        for &k in positions.iter().take(mismatches) {
            site[k] = (site[k] + rng.random_range(1..4u8)) % 4;
        }
        let at = rng.random_range(0..=l - MOTIF_WIDTH);
        s[at..at + MOTIF_WIDTH].copy_from_slice(&site);
        codes.extend(s);
    }
    let seqs = Sequences::from_codes(codes, l)?;
    let mut y = ground_truth().predict(&seqs)?;
    if params.noise() > 0.0 {
        let noise = Normal::new(0.0, params.noise()).expect("checked sd");
        y.iter_mut().for_each(|v| *v += noise.sample(rng));
    }
    Ok((seqs, y))
}

/// The CNN: Conv1d(4 -> 16, k = 6) -> ReLU -> [global max, global mean] -> Linear(32 -> 16)
/// -> ReLU -> Linear(16 -> 1). The mean pool can read GC content, the max pool a motif.
#[derive(Module, Debug)]
pub struct Cnn {
    conv: Conv1d,
    hidden: Linear,
    out: Linear,
}

const CHANNELS: usize = 16;

impl Cnn {
    /// A fresh CNN (Burn's default initializers, Burn's RNG).
    pub fn new(dev: &Device) -> Self {
        Self {
            conv: Conv1dConfig::new(4, CHANNELS, MOTIF_WIDTH).init(dev),
            hidden: LinearConfig::new(2 * CHANNELS, 16).init(dev),
            out: LinearConfig::new(16, 1).init(dev),
        }
    }

    /// Predictions `[N]` of one-hot sequences `[N, 4, L]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<1> {
        let n = x.dims()[0];
        let h = relu(self.conv.forward(x));
        let feat =
            Tensor::cat(vec![h.clone().max_dim(2), h.mean_dim(2)], 1).reshape([n, 2 * CHANNELS]);
        self.out
            .forward(relu(self.hidden.forward(feat)))
            .reshape([n])
    }
}

fn cnn_predict(model: &Cnn, seqs: &Sequences, dev: &Device) -> Result<Vec<f64>> {
    let x = convert::tensor_f32(
        &seqs.one_hot_channels(),
        [seqs.count(), 4, seqs.length()],
        dev,
    )?;
    Ok(convert::to_vec_f64(&model.forward(x))?)
}

fn train_cnn(
    seqs: &Sequences,
    y: &[f64],
    params: &OodValidParams,
    config: &ExperimentConfig,
) -> Result<(Cnn, Vec<f64>, Device)> {
    let dev = kiln_core::device(config.backend, Autodiff::On, Precision::F32)?;
    kiln_core::seed::seed(&dev, config.seed);
    let mut model = Cnn::new(&dev);
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let onehot = seqs.one_hot_channels();
    let (n, l) = (seqs.count(), seqs.length());
    let batch = 128.min(n);
    let mut rng = kiln_core::seed::rng_stream(config.seed, 31);
    let mut order: Vec<usize> = (0..n).collect();
    let mut cursor = n;
    let mut losses = Vec::with_capacity(params.cnn_steps());
    for _ in 0..params.cnn_steps() {
        let mut xb = Vec::with_capacity(batch * 4 * l);
        let mut yb = Vec::with_capacity(batch);
        for _ in 0..batch {
            if cursor == n {
                order.shuffle(&mut rng);
                cursor = 0;
            }
            let i = order[cursor];
            cursor += 1;
            xb.extend_from_slice(&onehot[i * 4 * l..(i + 1) * 4 * l]);
            yb.push(y[i] as f32);
        }
        let x = convert::tensor_f32(&xb, [batch, 4, l], &dev)?;
        let t = convert::tensor_f32(&yb, [batch], &dev)?;
        let mse = (model.forward(x) - t).powi_scalar(2).mean();
        losses.push(convert::scalar_f64(&mse)?);
        let grads = GradientsParams::from_grads(mse.backward(), &model);
        model = optim.step(3e-3, model, grads);
        config.progress.inc(1);
    }
    Ok((model, losses, dev))
}

/// Everything part 3 measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OodOutcome {
    /// R^2 of the CNN on the in-distribution test set.
    pub id_r2_network: f64,
    /// R^2 of the CNN on the shifted test set.
    pub ood_r2_network: f64,
    /// R^2 of the mechanistic model in distribution.
    pub id_r2_mechanistic: f64,
    /// R^2 of the mechanistic model out of distribution.
    pub ood_r2_mechanistic: f64,
    /// R^2 of the ground truth itself (the noise ceiling) in distribution.
    pub id_r2_truth: f64,
    /// Same out of distribution.
    pub ood_r2_truth: f64,
    /// Correlation of GC content with activity in the training set.
    pub train_gc_correlation: f64,
    /// Same in the shifted test set.
    pub ood_gc_correlation: f64,
    /// CNN training loss per step.
    pub cnn_loss: Vec<f64>,
    /// Thermodynamic-model training loss per step.
    pub mech_loss: Vec<f64>,
    /// The fitted mechanistic model, gauge-fixed.
    pub fitted: ThermoModel,
    /// Largest absolute error of the gauge-fixed fitted energies (kT).
    pub energy_error: f64,
    /// Out-of-distribution (truth, CNN, mechanistic) triples for a scatter plot (first 300).
    pub ood_scatter: Vec<[f64; 3]>,
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// Runs part 3.
pub fn run(params: &OodValidParams, config: &ExperimentConfig) -> Result<OodOutcome> {
    let mut rng = kiln_core::seed::rng_stream(config.seed, 30);
    let (train, y_train) = dataset(params.train(), params, Shift::InDistribution, &mut rng)?;
    let (id, y_id) = dataset(params.test(), params, Shift::InDistribution, &mut rng)?;
    let (ood, y_ood) = dataset(params.test(), params, Shift::Reversed, &mut rng)?;

    config.progress.message("ood: training the CNN");
    let (cnn, cnn_loss, dev) = train_cnn(&train, &y_train, params, config)?;
    let cnn_id = cnn_predict(&cnn, &id, &dev)?;
    let cnn_ood = cnn_predict(&cnn, &ood, &dev)?;

    config
        .progress
        .message("ood: fitting the thermodynamic model");
    // Wide initial energies and several starts: on this data a start of N(0, 0.1^2) kT settled
    // on a PWM that prefers G/C everywhere (a local optimum that learns the shortcut through
    // background binding; `kiln dynamics ood --mech-restarts 1 --mech-init-sd 0.1`).
    let fit_params = ThermoFitParams::new()
        .motif_width(MOTIF_WIDTH)
        .steps(params.mech_steps())
        .restarts(params.mech_restarts())
        .init_sd(params.mech_init_sd())
        .seed(config.seed)
        .check()?;
    let fit = ThermoModel::fit(
        &train,
        &y_train,
        &fit_params,
        config.backend,
        config.progress.as_ref(),
    )?;
    let mech_id = fit.model.predict(&id)?;
    let mech_ood = fit.model.predict(&ood)?;
    let truth = ground_truth();
    let fitted = fit.model.gauge_fixed();
    let planted = truth.gauge_fixed();
    let energy_error = fitted
        .energies
        .iter()
        .zip(&planted.energies)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let truth_id = truth.predict(&id)?;
    let truth_ood = truth.predict(&ood)?;
    Ok(OodOutcome {
        id_r2_network: r_squared(&cnn_id, &y_id)?,
        ood_r2_network: r_squared(&cnn_ood, &y_ood)?,
        id_r2_mechanistic: r_squared(&mech_id, &y_id)?,
        ood_r2_mechanistic: r_squared(&mech_ood, &y_ood)?,
        id_r2_truth: r_squared(&truth_id, &y_id)?,
        ood_r2_truth: r_squared(&truth_ood, &y_ood)?,
        train_gc_correlation: correlation(&train.gc_content(), &y_train),
        ood_gc_correlation: correlation(&ood.gc_content(), &y_ood),
        cnn_loss,
        mech_loss: fit.loss,
        fitted,
        energy_error,
        ood_scatter: y_ood
            .iter()
            .zip(cnn_ood.iter().zip(&mech_ood))
            .take(300)
            .map(|(t, (c, m))| [*t, *c, *m])
            .collect(),
    })
}
