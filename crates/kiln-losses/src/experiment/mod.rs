//! The seed experiment (`kiln reproduce losses`): soft IoU and soft Dice create different
//! gradient landscapes, which changes how errors are penalized and how fast small and large
//! objects are learned.
//!
//! 1. `landscape`: the gradient a foreground pixel receives from Dice and from Jaccard as a
//!    function of the overlap (Dice's is 2x Jaccard's at zero overlap, Jaccard's 2x Dice's near
//!    a perfect fit; they cross at IoU = sqrt 2 - 1).
//! 2. A small conv net (`net`) trained on synthetic images with one small and one large disc
//!    (`shapes`) with Dice, Jaccard, Lovász-softmax and cross-entropy; the IoU of each object
//!    size on a held-out set over training steps.

mod landscape;
mod net;
mod shapes;

use std::time::Instant;

use kiln_core::burn::optim::{AdamConfig, GradientsParams};
use kiln_core::burn::tensor::Tensor;
use kiln_core::seed::rng_stream;
use kiln_core::{Autodiff, ExperimentConfig, ExperimentReport, Figure, Precision, convert, device};

use crate::{EmptyClass, LossKind, SegLoss, SegLossParams, SegTarget};
use net::SegNet;
use shapes::{ShapeBatch, ShapeTask, object_iou};

/// Name used by `kiln reproduce losses`.
pub const NAME: &str = "losses";

#[derive(Debug, Clone, Copy)]
struct Sizes {
    task: ShapeTask,
    width: usize,
    batch: usize,
    steps: usize,
    eval_every: usize,
    eval_images: usize,
    lr: f64,
    sweep_steps: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Sizes {
                task: ShapeTask {
                    size: 16,
                    small_radius: 1.6,
                    large_radius: 4.5,
                    noise: 0.6,
                },
                width: 4,
                batch: 4,
                steps: 6,
                eval_every: 3,
                eval_images: 8,
                lr: 1e-2,
                sweep_steps: 10,
            }
        } else {
            Sizes {
                task: ShapeTask {
                    size: 32,
                    small_radius: 1.8,
                    large_radius: 7.0,
                    noise: 0.6,
                },
                width: 8,
                batch: 8,
                steps: 300,
                eval_every: 10,
                eval_images: 64,
                lr: 1e-2,
                sweep_steps: 50,
            }
        }
    }
}

/// The four training losses: the overlap losses on the object channel only (background left
/// out, per image), cross-entropy over both channels.
fn training_losses() -> kiln_core::Result<Vec<(&'static str, SegLoss)>> {
    let overlap = |kind| -> kiln_core::Result<SegLoss> {
        Ok(SegLoss::new(
            SegLossParams::new(kind)
                .include_background(false)
                .empty(EmptyClass::Smoothed)
                .check()?,
        ))
    };
    Ok(vec![
        ("dice", overlap(LossKind::Dice)?),
        ("jaccard", overlap(LossKind::Jaccard)?),
        ("lovasz", overlap(LossKind::LovaszSoftmax)?),
        (
            "ce",
            SegLoss::new(SegLossParams::new(LossKind::Focal { gamma: 0.0 }).check()?),
        ),
    ])
}

struct Curve {
    steps: Vec<f64>,
    small: Vec<f64>,
    large: Vec<f64>,
    loss: Vec<f64>,
}

/// Runs the experiment.
pub fn run(config: &ExperimentConfig) -> kiln_core::Result<ExperimentReport> {
    let s = Sizes::new(config.quick);
    let mut report = ExperimentReport::new(
        NAME,
        "Soft Dice vs soft IoU: gradient landscapes and small-object learning",
        "Dice and Jaccard rank predictions alike but push pixels differently: at zero overlap a \
         foreground pixel gets twice the gradient from Dice, near a perfect fit twice the \
         gradient from Jaccard. A small conv net trained with Dice, Jaccard, Lovász-softmax and \
         cross-entropy on images with one small and one large object shows how that changes \
         which object is learned when.",
    );
    let losses = training_losses()?;
    config
        .progress
        .set_length((s.steps * losses.len() + s.sweep_steps + 1) as u64);

    // Part 1: the landscape, in f64.
    config.progress.message("gradient vs overlap");
    let dev = device(config.backend, Autodiff::On, Precision::F32)?;
    let n = 16;
    let l = landscape::sweep(n, 64, s.sweep_steps, &dev)?;
    config.progress.inc((s.sweep_steps + 1) as u64);
    let last = l.t.len() - 1;
    let zero_ratio = l.dice[0] / l.jaccard[0];
    let perfect_ratio = l.jaccard[last] / l.dice[last];
    let crossover =
        l.t.iter()
            .zip(l.dice.iter().zip(&l.jaccard))
            .find(|(_, (d, j))| j >= d)
            .map_or(-1.0, |(t, _)| *t);
    report
        .metric(
            "dice_over_jaccard_grad_at_zero_overlap",
            zero_ratio,
            "ratio",
            "|dDice/dp| / |dJaccard/dp| of a foreground pixel at IoU 0 (theory: 2)",
        )
        .metric(
            "jaccard_over_dice_grad_near_perfect_fit",
            perfect_ratio,
            "ratio",
            "|dJaccard/dp| / |dDice/dp| of a foreground pixel at IoU 1 - 1e-9 (theory: 2)",
        )
        .metric(
            "grad_crossover_iou",
            crossover,
            "IoU",
            "first swept IoU where Jaccard's push is at least Dice's (theory: sqrt 2 - 1 = 0.414)",
        );
    let scale = |v: &[f64]| v.iter().map(|g| g * n as f64).collect::<Vec<_>>();
    report.figure(
        Figure::new(
            "losses_gradient_vs_overlap",
            "Gradient on a foreground pixel vs overlap (|y| = 16 of 64 pixels)",
            "soft IoU of the prediction",
            "|dL/dp_i| x |y|",
        )
        .with_series("Dice", l.iou.clone(), scale(&l.dice))
        .with_series("Jaccard", l.iou.clone(), scale(&l.jaccard)),
    );

    // Part 2: training.
    let mut curves = Vec::new();
    let eval = s.task.batch(s.eval_images, &mut rng_stream(config.seed, 2));
    let t0 = Instant::now();
    for (name, loss) in &losses {
        config.progress.message(&format!("training with {name}"));
        curves.push((*name, train(&s, loss, &eval, config)?));
    }
    let train_secs = t0.elapsed().as_secs_f64();

    let mut small_fig = Figure::new(
        "losses_iou_small_object",
        "Held-out IoU of the small object over training",
        "step",
        "IoU (small object)",
    );
    let mut large_fig = Figure::new(
        "losses_iou_large_object",
        "Held-out IoU of the large object over training",
        "step",
        "IoU (large object)",
    );
    let mut loss_fig = Figure::new(
        "losses_training_loss",
        "Training loss (each in its own units)",
        "step",
        "loss",
    );
    for (name, c) in &curves {
        let final_small = *c.small.last().unwrap_or(&f64::NAN);
        let final_large = *c.large.last().unwrap_or(&f64::NAN);
        let reach = |v: &[f64]| {
            c.steps
                .iter()
                .zip(v)
                .find(|(_, iou)| **iou >= 0.5)
                .map_or(-1.0, |(s, _)| *s)
        };
        report
            .metric(
                format!("{name}_final_iou_small"),
                final_small,
                "IoU",
                format!("held-out IoU of the small object after training with {name}"),
            )
            .metric(
                format!("{name}_final_iou_large"),
                final_large,
                "IoU",
                format!("held-out IoU of the large object after training with {name}"),
            )
            .metric(
                format!("{name}_steps_to_half_iou_small"),
                reach(&c.small),
                "steps",
                format!(
                    "first evaluated step where the small object's IoU >= 0.5 ({name}; -1: never)"
                ),
            )
            .metric(
                format!("{name}_steps_to_half_iou_large"),
                reach(&c.large),
                "steps",
                format!(
                    "first evaluated step where the large object's IoU >= 0.5 ({name}; -1: never)"
                ),
            );
        small_fig = small_fig.with_series(*name, c.steps.clone(), c.small.clone());
        large_fig = large_fig.with_series(*name, c.steps.clone(), c.large.clone());
        let xs: Vec<f64> = (0..c.loss.len()).map(|i| i as f64).collect();
        loss_fig = loss_fig.with_series(*name, xs, c.loss.clone());
    }
    report.figure(small_fig).figure(large_fig).figure(loss_fig);
    let t = s.task;
    report.note(format!(
        "Training: {}x{} images, one disc of radius {} and one of radius {}, uniform noise \
         +-{}; net of 4 convolutions (width {}, dilations 1/2/4, receptive field 15), Adam lr {}, \
         batch {}, {} steps per loss, IoU on {} held-out images every {} steps; same seed, \
         initialization and batches for every loss; {:.1} s of training on {} in total. Dice, \
         Jaccard and Lovász use the object channel only (background excluded), per image; \
         cross-entropy uses both channels. Object IoU attributes each false positive to the \
         nearer object.",
        t.size,
        t.size,
        t.small_radius,
        t.large_radius,
        t.noise,
        s.width,
        s.lr,
        s.batch,
        s.steps,
        s.eval_images,
        s.eval_every,
        train_secs,
        config.backend,
    ));
    if config.quick {
        report.note(
            "QUICK RUN: a few steps on tiny images — the training numbers are NOT converged and \
             only show that every path runs; the gradient-landscape ratios are exact at any size. \
             Run `kiln reproduce losses` for the full run.",
        );
    }
    Ok(report)
}

fn images(
    batch: &ShapeBatch,
    size: usize,
    dev: &kiln_core::burn::tensor::Device,
) -> kiln_core::Result<Tensor<4>> {
    convert::tensor_f32(&batch.images, [batch.n, 1, size, size], dev)
}

fn train(
    s: &Sizes,
    loss: &SegLoss,
    eval: &ShapeBatch,
    config: &ExperimentConfig,
) -> kiln_core::Result<Curve> {
    let size = s.task.size;
    let dev = device(config.backend, Autodiff::On, Precision::F32)?;
    // Same initialization and batches for every loss.
    kiln_core::seed::seed(&dev, config.seed);
    let mut model = SegNet::new(s.width, &dev);
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut data = rng_stream(config.seed, 1);
    let mut curve = Curve {
        steps: Vec::new(),
        small: Vec::new(),
        large: Vec::new(),
        loss: Vec::new(),
    };
    for step in 0..=s.steps {
        if step % s.eval_every == 0 || step == s.steps {
            let (small, large) = evaluate(&model, eval, size, &dev)?;
            curve.steps.push(step as f64);
            curve.small.push(small);
            curve.large.push(large);
        }
        if step == s.steps {
            break;
        }
        let batch = s.task.batch(s.batch, &mut data);
        let logits = model.forward(images(&batch, size, &dev)?);
        let target = SegTarget::indices(batch.labels.clone(), [batch.n, size, size]);
        let value = loss.forward(logits, &target)?;
        let v = convert::scalar_f64(&value)?;
        kiln_core::errors::ensure_finite(&[v], "training loss")?;
        curve.loss.push(v);
        let grads = GradientsParams::from_grads(value.backward(), &model);
        model = optim.step(s.lr, model, grads);
        config.progress.inc(1);
    }
    Ok(curve)
}

fn evaluate(
    model: &SegNet,
    eval: &ShapeBatch,
    size: usize,
    dev: &kiln_core::burn::tensor::Device,
) -> kiln_core::Result<(f64, f64)> {
    let logits = model.forward(images(eval, size, dev)?).detach();
    let x = convert::to_vec_f32(&logits)?;
    let px = size * size;
    let pred: Vec<bool> = (0..eval.n)
        .flat_map(|i| {
            let x = &x;
            (0..px).map(move |j| x[(i * 2 + 1) * px + j] > x[(i * 2) * px + j])
        })
        .collect();
    Ok(object_iou(eval, &pred))
}
