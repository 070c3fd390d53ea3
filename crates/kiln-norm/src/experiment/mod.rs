//! The seed experiment: with two images per batch, BatchNorm's batch statistics are noisy,
//! training and inference disagree, and GroupNorm, independent of the batch, trains stably
//! (Wu & He 2018, at CPU scale).
//!
//! A small conv net ([`model::ConvNet`]) is trained on a synthetic task ([`task`]: noisy
//! oriented bars with a random contrast and brightness per image, 4 classes, 12x12 pixels)
//! with BatchNorm, GroupNorm, BatchNorm + PreciseBN and Batch Renorm at batch sizes 32..2,
//! SGD with momentum 0.9 and the learning rate scaled linearly with the batch size (as Wu &
//! He, after Goyal et al. 2017), the same number of epochs for every batch size. Each cell
//! reports the test error in inference mode and the train/inference gap of
//! [`mismatch::mode_gap`](crate::mismatch::mode_gap) at the training batch size.

pub mod model;
pub mod task;

use std::time::Instant;

use kiln_core::burn;
use kiln_core::seed::rng_stream;
use kiln_core::{
    Autodiff, BackendKind, ExperimentConfig, ExperimentReport, Figure, Precision, Progress,
    convert, device,
};

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::errors::Result;
use crate::hyperparams::{ClipSchedule, PreciseBnParams, SweepValidParams};
use crate::mismatch::{Classifier, mode_gap};
use crate::norm::{NormKind, NormOptions};
use crate::precise::precise_bn;
use model::ConvNet;
use task::{CLASSES, Images, SIDE};

/// Name used by `kiln reproduce norm`.
pub const NAME: &str = "norm";

/// One cell of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    /// The normalization.
    pub norm: NormKind,
    /// Training batch size.
    pub batch_size: usize,
    /// Test error in inference mode (running statistics).
    pub test_error: f64,
    /// Test error in inference mode minus test error in training mode (batch statistics of
    /// test batches of `batch_size`): the train/inference mismatch. 0 for batch-independent
    /// layers.
    pub train_eval_gap: f64,
    /// Test error in training mode.
    pub train_mode_error: f64,
    /// Test cross-entropy in inference mode.
    pub test_loss: f64,
    /// Wall-clock seconds of training (for PreciseBN: of the recomputation only).
    pub seconds: f64,
}

/// Sizes of one run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    train: usize,
    test: usize,
    epochs: usize,
    widths: [usize; 2],
    noise: f64,
    base_lr: f64,
    precise_batches: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                train: 128,
                test: 128,
                epochs: 1,
                widths: [8, 16],
                noise: 0.8,
                base_lr: 0.1,
                precise_batches: 16,
            }
        } else {
            Self {
                train: 2048,
                test: 1024,
                epochs: 10,
                widths: [16, 32],
                noise: 0.5,
                base_lr: 0.1,
                precise_batches: 200,
            }
        }
    }
}

fn batch_tensors(
    data: &Images,
    idx: &[usize],
    device: &Device,
) -> Result<(Tensor<4>, Tensor<1, Int>)> {
    let x = convert::tensor_f32(&data.gather(idx), [idx.len(), 1, SIDE, SIDE], device)?;
    let labels: Vec<i64> = idx.iter().map(|&i| data.labels[i] as i64).collect();
    let y = Tensor::from_data(TensorData::new(labels, [idx.len()]), device);
    Ok((x, y))
}

fn options_for(steps: usize) -> NormOptions {
    // The paper's schedule (r_max 1 -> 3 from 5k to 40k steps, d_max 0 -> 5 from 5k to 25k),
    // scaled to this run's length.
    let s = steps as f64;
    NormOptions {
        groups: 4,
        virtual_batch: 32,
        r_max: ClipSchedule {
            start: 1.0,
            end: 3.0,
            warmup_steps: (0.05 * s) as u64,
            ramp_steps: (0.5 * s) as u64,
        },
        d_max: ClipSchedule {
            start: 0.0,
            end: 5.0,
            warmup_steps: (0.05 * s) as u64,
            ramp_steps: (0.3 * s) as u64,
        },
    }
}

fn train(
    kind: NormKind,
    batch: usize,
    sizes: &Sizes,
    data: &Images,
    seed: u64,
    device: &Device,
) -> Result<ConvNet> {
    let steps_per_epoch = data.len() / batch;
    let options = options_for(steps_per_epoch * sizes.epochs);
    device.seed(seed);
    let mut model = ConvNet::new(kind, &options, sizes.widths, CLASSES, device)?;
    let mut optim = SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new().with_momentum(0.9).with_dampening(0.0),
        ))
        .init();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let lr = sizes.base_lr * batch as f64 / 32.0;
    let mut rng = rng_stream(seed, 2);
    let mut order: Vec<usize> = (0..data.len()).collect();
    for _ in 0..sizes.epochs {
        order.shuffle(&mut rng);
        for idx in order.chunks_exact(batch) {
            let (x, y) = batch_tensors(data, idx, device)?;
            let loss = loss_fn.forward(model.logits(x)?, y);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
    }
    Ok(model)
}

fn evaluate(
    kind: NormKind,
    batch: usize,
    model: &ConvNet,
    test: &Images,
    plain: &Device,
    seconds: f64,
) -> Result<SweepRow> {
    let idx: Vec<usize> = (0..test.len()).collect();
    let (x, _) = batch_tensors(test, &idx, plain)?;
    let gap = mode_gap(model, &x, &test.labels, batch)?;
    Ok(SweepRow {
        norm: kind,
        batch_size: batch,
        test_error: gap.eval_mode_error,
        train_eval_gap: gap.error_gap(),
        train_mode_error: gap.train_mode_error,
        test_loss: gap.eval_mode_loss,
        seconds,
    })
}

/// Trains every (norm, batch size) cell of `params` on `backend` and evaluates it.
/// PreciseBN cells reuse the BatchNorm model of the same batch size and recompute its
/// statistics over training batches of that size.
pub fn sweep(
    params: &SweepValidParams,
    backend: BackendKind,
    progress: &dyn Progress,
) -> Result<Vec<SweepRow>> {
    let sizes = Sizes::new(params.quick());
    let ad = device(backend, Autodiff::On, Precision::F32)?;
    let plain = ad.clone().without_autodiff();
    let seed = params.seed();
    let train_set = task::make(sizes.train, sizes.noise, &mut rng_stream(seed, 0));
    let test_set = task::make(sizes.test, sizes.noise, &mut rng_stream(seed, 1));
    progress.set_length((params.norms().len() * params.batch_sizes().len()) as u64);
    let mut rows = Vec::new();
    for &b in &params.batch_sizes() {
        let mut bn_model: Option<ConvNet> = None;
        for kind in params.norms() {
            progress.message(&format!("{kind} at batch {b}"));
            let start = Instant::now();
            let row = match kind {
                NormKind::PreciseBn => {
                    if bn_model.is_none() {
                        bn_model = Some(train(NormKind::Batch, b, &sizes, &train_set, seed, &ad)?);
                    }
                    let mut model = bn_model
                        .as_ref()
                        .map(|m| m.valid().train())
                        .expect("trained above");
                    let start = Instant::now();
                    let n = sizes.precise_batches.min(train_set.len() / b);
                    let mut rng = rng_stream(seed, 3);
                    let mut order: Vec<usize> = (0..train_set.len()).collect();
                    order.shuffle(&mut rng);
                    let batches: Vec<Vec<usize>> = order
                        .chunks_exact(b)
                        .take(n)
                        .map(<[usize]>::to_vec)
                        .collect();
                    let p = PreciseBnParams::new().num_batches(n).check()?;
                    precise_bn(&mut model, &p, batches, |m, idx| {
                        let (x, _) = batch_tensors(&train_set, &idx, &ad)?;
                        m.logits(x).map(|_| ())
                    })?;
                    evaluate(
                        kind,
                        b,
                        &model,
                        &test_set,
                        &plain,
                        start.elapsed().as_secs_f64(),
                    )?
                }
                _ => {
                    let model = train(kind, b, &sizes, &train_set, seed, &ad)?;
                    let secs = start.elapsed().as_secs_f64();
                    let row = evaluate(kind, b, &model, &test_set, &plain, secs)?;
                    if kind == NormKind::Batch {
                        bn_model = Some(model);
                    }
                    row
                }
            };
            rows.push(row);
            progress.inc(1);
        }
    }
    Ok(rows)
}

/// Runs the seed experiment (`kiln reproduce norm`).
pub fn run(config: &ExperimentConfig) -> kiln_core::Result<ExperimentReport> {
    let params = crate::hyperparams::SweepParams::new()
        .quick(config.quick)
        .seed(config.seed)
        .check()?;
    let start = Instant::now();
    let rows = sweep(&params, config.backend, config.progress.as_ref())?;
    let seconds = start.elapsed().as_secs_f64();
    let sizes = Sizes::new(config.quick);
    let mut report = ExperimentReport::new(
        NAME,
        "Normalization at batch size 2: BatchNorm vs GroupNorm, PreciseBN, Batch Renorm",
        format!(
            "A small conv net (two 3x3 convolutions of width {}/{}, each followed by the \
             normalization under test) trained on a synthetic image task ({} training and {} \
             test 12x12 images of noisy oriented bars, 4 classes, random contrast and \
             brightness per image) for {} epochs at batch sizes {:?}, SGD momentum 0.9, \
             learning rate {} x batch/32. Test error in inference mode and the train/inference \
             gap (inference-mode minus training-mode test error, training mode with test \
             batches of the training size) per cell. The shape to look for (Wu & He 2018): \
             BatchNorm's error grows as the batch shrinks, GroupNorm's does not.",
            sizes.widths[0],
            sizes.widths[1],
            sizes.train,
            sizes.test,
            sizes.epochs,
            params.batch_sizes(),
            sizes.base_lr
        ),
    );
    for r in &rows {
        let key = format!("{}_b{}", r.norm.name().replace('-', "_"), r.batch_size);
        report.metric(
            format!("{key}_test_error"),
            r.test_error,
            "fraction",
            format!(
                "{} at batch {}: test error, inference mode",
                r.norm, r.batch_size
            ),
        );
        report.metric(
            format!("{key}_gap"),
            r.train_eval_gap,
            "fraction",
            format!(
                "{} at batch {}: inference-mode minus training-mode test error",
                r.norm, r.batch_size
            ),
        );
    }
    report.metric(
        "seconds",
        seconds,
        "s",
        "wall-clock time of the whole experiment",
    );
    let mut error_fig = Figure::new(
        "norm_test_error",
        "Test error vs batch size",
        "batch size",
        "test error (inference mode)",
    );
    let mut gap_fig = Figure::new(
        "norm_train_eval_gap",
        "Train/inference gap vs batch size",
        "batch size",
        "inference minus training-mode error",
    );
    for kind in params.norms() {
        let cells: Vec<&SweepRow> = rows.iter().filter(|r| r.norm == kind).collect();
        let x: Vec<f64> = cells.iter().map(|r| r.batch_size as f64).collect();
        error_fig = error_fig.with_series(
            kind.name(),
            x.clone(),
            cells.iter().map(|r| r.test_error).collect(),
        );
        gap_fig = gap_fig.with_series(
            kind.name(),
            x,
            cells.iter().map(|r| r.train_eval_gap).collect(),
        );
    }
    report.figure(error_fig).figure(gap_fig);
    if config.quick {
        report.note(format!(
            "--quick: {} training images, 1 epoch, narrow net: NOT converged; the numbers only \
             show that every path runs ({seconds:.1} s). Run `kiln reproduce norm` for the full size.",
            sizes.train
        ));
    } else {
        report.note(format!(
            "Full run: {seconds:.0} s on this machine ({:?} backend).",
            config.backend
        ));
    }
    report.note(
        "Batch Renorm's r_max/d_max schedules are the paper's (r_max 1 -> 3, d_max 0 -> 5) \
         scaled to the run: warm-up 5% of the steps, ramps over 50% and 30%. PreciseBN averages \
         the batch statistics of up to 200 training batches of the training batch size.",
    );
    Ok(report)
}
