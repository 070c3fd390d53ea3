//! The seed experiment: a spam filter trained today fails tomorrow because spammers change
//! tactics. A stream of bag-of-words messages is labelled by a word rule that changes twice; a
//! small Burn classifier (MLP) is trained on the first batches and deployed. Three strategies
//! see the same stream, initialization and batches:
//!
//! - **no adaptation**: the deployed model is never updated;
//! - **periodic retraining**: every `period` batches, retrain on the last `window` batches
//!   (fresh optimizer state, restarted schedule);
//! - **drift-triggered**: a [`LossMonitor`] watches the deployed model's loss on each incoming
//!   batch (before its labels are used); on an alarm the [`Adapter`] resets Adam, restarts the
//!   schedule and retrains on the batches since the estimated change point, then fine-tunes on
//!   the next `adapt` batches as they arrive.
//!
//! Reported: accuracy over time (prequential: each batch is scored before any training on it),
//! compute spent (optimizer steps), detection delays and false alarms of the monitor.

mod model;
mod stream;

use kiln_core::burn::optim::{AdamConfig, GradientsParams};
use kiln_core::burn::tensor::{Device, Int, Tensor, TensorData};
use kiln_core::seed::rng_stream;
use kiln_core::{Autodiff, ExperimentConfig, ExperimentReport, Figure, Precision, convert, device};

use crate::actions::{Action, Adapter, LrScheduleParams, ReactionPolicy};
use crate::hyperparams::LossMonitorParams;
use crate::monitor::LossMonitor;
use crate::signal::{Detector, Signal};
use model::Classifier;
use stream::{Batch, MessageStream};

/// Name used by `kiln reproduce drift`.
pub const NAME: &str = "drift";

/// An alarm within this many batches after a change counts as its detection; any other alarm
/// is a false alarm.
pub const DETECTION_WINDOW: usize = 50;

#[derive(Debug, Clone)]
struct Sizes {
    vocab: usize,
    hidden: usize,
    batch: usize,
    steps: usize,
    changes: Vec<usize>,
    initial: usize,
    initial_epochs: usize,
    period: usize,
    window: usize,
    retrain_epochs: usize,
    adapt: usize,
    lr: f64,
    smooth: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                vocab: 40,
                hidden: 16,
                batch: 32,
                steps: 300,
                changes: vec![100, 210],
                initial: 40,
                initial_epochs: 3,
                period: 30,
                window: 20,
                retrain_epochs: 2,
                adapt: 30,
                lr: 1e-2,
                smooth: 10,
            }
        } else {
            Self {
                vocab: 60,
                hidden: 32,
                batch: 64,
                steps: 1500,
                changes: vec![500, 1000],
                initial: 100,
                initial_epochs: 3,
                period: 100,
                window: 50,
                retrain_epochs: 2,
                adapt: 50,
                lr: 1e-2,
                smooth: 25,
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    None,
    Periodic,
    Triggered,
}

impl Strategy {
    fn key(self) -> &'static str {
        match self {
            Strategy::None => "no_adaptation",
            Strategy::Periodic => "periodic",
            Strategy::Triggered => "drift_triggered",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Strategy::None => "no adaptation",
            Strategy::Periodic => "periodic retraining",
            Strategy::Triggered => "drift-triggered",
        }
    }
}

/// What one strategy's run produced.
struct RunLog {
    accuracy: Vec<f64>,
    loss: Vec<f64>,
    cumulative_steps: Vec<f64>,
    alarms: Vec<(usize, usize)>,
    optimizer_steps: u64,
}

fn tensors(b: &Batch, s: &Sizes, dev: &Device) -> kiln_core::Result<(Tensor<2>, Tensor<1, Int>)> {
    let x = convert::tensor_f32(&b.x, [b.y.len(), s.vocab], dev)?;
    let y = Tensor::<1, Int>::from_data(TensorData::new(b.y.clone(), [b.y.len()]), dev);
    Ok((x, y))
}

fn train_on(
    model: Classifier,
    adapter: &mut Adapter<Classifier>,
    batches: &[Batch],
    epochs: usize,
    s: &Sizes,
    dev: &Device,
) -> kiln_core::Result<Classifier> {
    let mut model = model;
    for _ in 0..epochs {
        for b in batches {
            let (x, y) = tensors(b, s, dev)?;
            let (loss, _) = model.loss(x, y);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = adapter.step(model, grads);
        }
    }
    Ok(model)
}

/// Scores batch `b` before training on it: (accuracy, mean cross-entropy).
fn score(model: &Classifier, b: &Batch, s: &Sizes, dev: &Device) -> kiln_core::Result<(f64, f64)> {
    let (x, y) = tensors(b, s, dev)?;
    let (loss, lp) = model.loss(x, y);
    let loss = convert::scalar_f64(&loss.detach())?;
    kiln_core::errors::ensure_finite(&[loss], "classifier loss")?;
    let lp = convert::to_vec_f64(&lp.detach())?;
    let correct =
        b.y.iter()
            .enumerate()
            .filter(|&(i, &label)| (lp[2 * i + 1] > lp[2 * i]) == (label == 1))
            .count();
    Ok((correct as f64 / b.y.len() as f64, loss))
}

fn run_strategy(
    strategy: Strategy,
    batches: &[Batch],
    s: &Sizes,
    config: &ExperimentConfig,
) -> kiln_core::Result<RunLog> {
    let dev = device(config.backend, Autodiff::On, Precision::F32)?;
    kiln_core::seed::seed(&dev, config.seed);
    let mut model = Classifier::new(s.vocab, s.hidden, &dev);
    let policy = match strategy {
        Strategy::Triggered => ReactionPolicy::default().on_drift(vec![
            Action::ResetOptimizer,
            Action::RestartSchedule,
            Action::RetrainRecent {
                epochs: s.retrain_epochs,
            },
        ]),
        _ => ReactionPolicy::none(),
    };
    let schedule = LrScheduleParams::new(s.lr)
        .decay(0.995)
        .floor(s.lr / 10.0)
        .check()?;
    let mut adapter = Adapter::new(policy, AdamConfig::new().with_epsilon(1e-8), schedule)?;
    model = train_on(
        model,
        &mut adapter,
        &batches[..s.initial],
        s.initial_epochs,
        s,
        &dev,
    )?;
    adapter.checkpoint(&model);

    let mut monitor = LossMonitor::new(LossMonitorParams::new().check()?);
    let mut log = RunLog {
        accuracy: Vec::new(),
        loss: Vec::new(),
        cumulative_steps: Vec::new(),
        alarms: Vec::new(),
        optimizer_steps: 0,
    };
    let mut adapt_until = 0;
    for t in s.initial..s.steps {
        let (acc, loss) = score(&model, &batches[t], s, &dev)?;
        log.accuracy.push(acc);
        log.loss.push(loss);
        // The loss stream the monitor sees starts at deployment.
        let signal = monitor.update(loss)?;
        match strategy {
            Strategy::None => {}
            Strategy::Periodic => {
                if (t + 1 - s.initial).is_multiple_of(s.period) {
                    let from = (t + 1).saturating_sub(s.window);
                    adapter.reset_optimizer();
                    adapter.restart_schedule();
                    model = train_on(
                        model,
                        &mut adapter,
                        &batches[from..=t],
                        s.retrain_epochs,
                        s,
                        &dev,
                    )?;
                }
            }
            Strategy::Triggered => {
                if signal == Signal::Drift {
                    let cp = monitor
                        .last_alarm()
                        .map_or(t, |a| s.initial + a.change_point as usize);
                    log.alarms.push((t, cp));
                    let from = cp.clamp((t + 1).saturating_sub(s.window), t);
                    let mut retrain =
                        |m: Classifier, a: &mut Adapter<Classifier>, epochs: usize| {
                            train_on(m, a, &batches[from..=t], epochs, s, &dev)
                        };
                    model =
                        adapter.react(t as u64, signal, Some(cp as u64), model, &mut retrain)?;
                    adapt_until = t + s.adapt;
                } else if t < adapt_until {
                    model = train_on(model, &mut adapter, &batches[t..=t], 1, s, &dev)?;
                }
            }
        }
        if strategy != Strategy::Triggered && signal == Signal::Drift {
            let cp = monitor
                .last_alarm()
                .map_or(t, |a| s.initial + a.change_point as usize);
            log.alarms.push((t, cp));
        }
        log.cumulative_steps.push(adapter.optimizer_steps() as f64);
        config.progress.inc(1);
    }
    log.optimizer_steps = adapter.optimizer_steps();
    Ok(log)
}

fn moving_average(v: &[f64], w: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(v.len());
    let mut sum = 0.0;
    for i in 0..v.len() {
        sum += v[i];
        if i >= w {
            sum -= v[i - w];
        }
        out.push(sum / (i + 1).min(w) as f64);
    }
    out
}

/// Detection delays (one per change, `None` when missed) and the false alarms.
fn detections(alarms: &[(usize, usize)], changes: &[usize]) -> (Vec<Option<usize>>, usize) {
    let delays = changes
        .iter()
        .map(|&c| {
            alarms
                .iter()
                .map(|&(a, _)| a)
                .find(|&a| a >= c && a < c + DETECTION_WINDOW)
                .map(|a| a - c)
        })
        .collect();
    let false_alarms = alarms
        .iter()
        .filter(|&&(a, _)| !changes.iter().any(|&c| a >= c && a < c + DETECTION_WINDOW))
        .count();
    (delays, false_alarms)
}

/// Runs the experiment (`config.quick`: a seconds-scale run, labelled as such).
pub fn run(config: &ExperimentConfig) -> kiln_core::Result<ExperimentReport> {
    let s = Sizes::new(config.quick);
    let batches = message_batches(&s, config.seed);
    let strategies = [Strategy::None, Strategy::Periodic, Strategy::Triggered];
    config
        .progress
        .set_length((strategies.len() * (s.steps - s.initial)) as u64);

    let mut report = ExperimentReport::new(
        NAME,
        "Drift: a spam filter whose labelling rule changes twice",
        "A small Burn MLP classifies bag-of-words messages; the spam rule changes twice. No \
         adaptation vs periodic retraining vs retraining triggered by kiln's loss monitor: \
         prequential accuracy, compute (optimizer steps), detection delay and false alarms.",
    );
    let mut logs = Vec::with_capacity(strategies.len());
    for strategy in strategies {
        config.progress.message(strategy.label());
        let log = run_strategy(strategy, &batches, &s, config)?;
        add_strategy_metrics(&mut report, strategy, &log, &s);
        if strategy == Strategy::Triggered {
            report.note(alarm_note(&log, &s));
        }
        logs.push((strategy, log));
    }
    add_figures(&mut report, &s, &logs);
    add_notes(&mut report, config, &s);
    Ok(report)
}

/// The whole message stream, drawn once so every strategy sees the same batches: the rule
/// changes from host stream 1, the messages from host stream 2.
fn message_batches(s: &Sizes, seed: u64) -> Vec<Batch> {
    let mut rng = rng_stream(seed, 1);
    let stream = MessageStream::new(s.vocab, 6, 2, s.changes.clone(), &mut rng);
    let mut data = rng_stream(seed, 2);
    (0..s.steps)
        .map(|t| stream.batch(t, s.batch, &mut data))
        .collect()
}

/// One strategy's metrics: mean accuracy, accuracy after each change, optimizer steps,
/// detection delays and false alarms of the monitor on its loss.
fn add_strategy_metrics(
    report: &mut ExperimentReport,
    strategy: Strategy,
    log: &RunLog,
    s: &Sizes,
) {
    let key = strategy.key();
    let n = log.accuracy.len() as f64;
    report.metric(
        format!("{key}_accuracy"),
        log.accuracy.iter().sum::<f64>() / n,
        "fraction",
        format!(
            "{}: mean prequential accuracy over the deployment",
            strategy.label()
        ),
    );
    for (j, &c) in s.changes.iter().enumerate() {
        let lo = c - s.initial;
        let hi = (lo + s.period).min(log.accuracy.len());
        let seg = &log.accuracy[lo..hi];
        report.metric(
            format!("{key}_accuracy_after_change_{}", j + 1),
            seg.iter().sum::<f64>() / seg.len() as f64,
            "fraction",
            format!(
                "{}: mean accuracy over the {} batches after change {} (batch {c})",
                strategy.label(),
                seg.len(),
                j + 1
            ),
        );
    }
    report.metric(
        format!("{key}_optimizer_steps"),
        log.optimizer_steps as f64,
        "steps",
        format!(
            "{}: optimizer steps, initial training included",
            strategy.label()
        ),
    );
    let (delays, false_alarms) = detections(&log.alarms, &s.changes);
    for (j, d) in delays.iter().enumerate() {
        report.metric(
            format!("{key}_detection_delay_{}", j + 1),
            d.map_or(-1.0, |d| d as f64),
            "batches",
            format!(
                "{}: batches from change {} to the monitor's alarm on this strategy's loss \
                 (-1: not detected within {DETECTION_WINDOW})",
                strategy.label(),
                j + 1
            ),
        );
    }
    report.metric(
        format!("{key}_false_alarms"),
        false_alarms as f64,
        "alarms",
        format!(
            "{}: monitor alarms not within {DETECTION_WINDOW} batches after a change",
            strategy.label()
        ),
    );
}

/// The triggered strategy's alarms (with their estimated change points) beside the true changes.
fn alarm_note(log: &RunLog, s: &Sizes) -> String {
    let alarms: Vec<String> = log
        .alarms
        .iter()
        .map(|(a, cp)| format!("batch {a} (estimated change point {cp})"))
        .collect();
    format!(
        "Drift-triggered: alarms at {}; true changes at batches {:?}.",
        if alarms.is_empty() {
            "none".into()
        } else {
            alarms.join(", ")
        },
        s.changes
    )
}

/// The three figures over the deployment, one series per strategy in run order: smoothed
/// accuracy, compute and the loss the monitor watches.
fn add_figures(report: &mut ExperimentReport, s: &Sizes, logs: &[(Strategy, RunLog)]) {
    let xs: Vec<f64> = (s.initial..s.steps).map(|t| t as f64).collect();
    let mut acc_fig = Figure::new(
        "drift_accuracy",
        "Prequential accuracy (moving average)",
        "batch",
        "accuracy",
    );
    let mut steps_fig = Figure::new(
        "drift_compute",
        "Compute spent",
        "batch",
        "optimizer steps (cumulative)",
    );
    let mut loss_fig = Figure::new(
        "drift_loss",
        "Deployed model's loss on incoming batches (what the monitor watches)",
        "batch",
        "cross-entropy",
    );
    for (strategy, log) in logs {
        acc_fig = acc_fig.with_series(
            strategy.label(),
            xs.clone(),
            moving_average(&log.accuracy, s.smooth),
        );
        steps_fig =
            steps_fig.with_series(strategy.label(), xs.clone(), log.cumulative_steps.clone());
        loss_fig = loss_fig.with_series(strategy.label(), xs.clone(), log.loss.clone());
    }
    report.figure(acc_fig).figure(steps_fig).figure(loss_fig);
}

/// The sizes and settings of the run, and the quick-run caveat.
fn add_notes(report: &mut ExperimentReport, config: &ExperimentConfig, s: &Sizes) {
    report.note(format!(
        "Sizes: vocabulary {}, hidden {}, batches of {} messages, {} batches (the first {} train \
         the deployed model for {} epochs), changes at {:?}; periodic retraining every {} batches \
         on the last {} for {} epochs; the triggered strategy retrains {} epochs on the batches \
         since the estimated change point and fine-tunes on the next {}. Adam (eps 1e-8), rate \
         {} decaying by 0.995 per step to a tenth. Seed {}.",
        s.vocab,
        s.hidden,
        s.batch,
        s.steps,
        s.initial,
        s.initial_epochs,
        s.changes,
        s.period,
        s.window,
        s.retrain_epochs,
        s.retrain_epochs,
        s.adapt,
        s.lr,
        config.seed
    ));
    if config.quick {
        report.note(
            "--quick: a seconds-scale run (300 batches of 32); the numbers show the mechanism, \
             not converged or averaged results.",
        );
    }
}
