//! The seed experiment: CTC sums over every alignment with a blank symbol by dynamic
//! programming; early in training a network can get stuck emitting only blanks; and the
//! differentiable training loss is not the beam search used at inference.
//!
//! A conv + BiGRU model (burn-nn) is trained with [`CtcLoss::forward`] and Adam on a synthetic
//! task ([`task`]): noisy feature frames spelling digit words with variable durations. Four
//! runs with the same seed, initialization and batches differ only in the blank-collapse
//! remedy (none, +3 blank-logit bias at init, entropy bonus, label-prior penalty); each
//! records the loss, the blank statistics of [`monitor::blank_stats`](crate::monitor) per
//! step, and the greedy / beam / beam + word-bigram-LM error rates on a held-out set.

pub mod model;
pub mod score;
pub mod task;

use std::sync::Arc;

use kiln_core::burn::optim::{AdamConfig, GradientsParams};
use kiln_core::burn::tensor::Tensor;
use kiln_core::seed::rng_stream;
use kiln_core::{Autodiff, ExperimentConfig, ExperimentReport, Figure, Precision, convert, device};

use crate::decode::greedy::greedy_batch;
use crate::monitor::{
    BlankStats, blank_bias_init, blank_stats, entropy_bonus, label_prior_penalty,
};
use crate::{
    Alphabet, BeamSearch, BeamSearchParams, CtcLoss, CtcLossParams, InputKind, NgramLm, Reduction,
    Targets,
};
use model::AcousticModel;
use score::ErrorRate;
use task::{ALPHABET, BLANK, Batch, CLASSES, Task};

/// Name used by `kiln reproduce ctc`.
pub const NAME: &str = "ctc";

/// A step is "in the blank plateau" when the greedy decoding of at least this fraction of the
/// training batch is empty.
pub const PLATEAU_EMPTY_FRACTION: f64 = 0.95;

/// Sizes of one run of the experiment.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    frames: usize,
    features: usize,
    noise: f64,
    conv: usize,
    hidden: usize,
    batch: usize,
    steps: usize,
    lr: f64,
    test: usize,
    dev: usize,
    lm_sentences: usize,
    beam: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                frames: 60,
                features: 8,
                noise: 1.0,
                conv: 8,
                hidden: 8,
                batch: 8,
                steps: 6,
                lr: 3e-3,
                test: 16,
                dev: 8,
                lm_sentences: 200,
                beam: 8,
            }
        } else {
            Self {
                frames: 60,
                features: 16,
                noise: 1.0,
                conv: 32,
                hidden: 48,
                batch: 32,
                steps: 400,
                lr: 3e-3,
                test: 512,
                dev: 128,
                lm_sentences: 5000,
                beam: 32,
            }
        }
    }
}

/// A blank-collapse remedy.
#[derive(Debug, Clone, Copy)]
struct Variant {
    key: &'static str,
    label: &'static str,
    blank_bias: Option<f32>,
    entropy_weight: f64,
    prior_weight: f64,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        key: "none",
        label: "no remedy",
        blank_bias: None,
        entropy_weight: 0.0,
        prior_weight: 0.0,
    },
    Variant {
        key: "bias3",
        label: "+3 blank bias at init",
        blank_bias: Some(3.0),
        entropy_weight: 0.0,
        prior_weight: 0.0,
    },
    Variant {
        key: "entropy",
        label: "entropy bonus 0.1",
        blank_bias: None,
        entropy_weight: 0.1,
        prior_weight: 0.0,
    },
    Variant {
        key: "prior",
        label: "label-prior penalty 1.0",
        blank_bias: None,
        entropy_weight: 0.0,
        prior_weight: 1.0,
    },
];

/// What one training run recorded.
struct RunLog {
    loss: Vec<f64>,
    stats: Vec<BlankStats>,
    errors: [ErrorRate; 3],
}

impl RunLog {
    /// First step in the plateau, and one past the last (`None` if never in it).
    fn plateau(&self) -> Option<(usize, usize)> {
        let inside = |s: &BlankStats| s.empty_output_fraction >= PLATEAU_EMPTY_FRACTION;
        let entry = self.stats.iter().position(inside)?;
        let last = self.stats.iter().rposition(inside)?;
        Some((entry, last + 1))
    }

    fn final_loss(&self) -> f64 {
        let tail = &self.loss[self.loss.len().saturating_sub(10)..];
        tail.iter().sum::<f64>() / tail.len().max(1) as f64
    }
}

/// Everything the runs share: task, data, loss, decoders.
struct Setup {
    sizes: Sizes,
    task: Task,
    alphabet: Alphabet,
    loss: CtcLoss,
    prior: Vec<f64>,
    test: Batch,
    beam: BeamSearch,
    beam_lm: BeamSearch,
    lm_weights: (f64, f64),
}

fn targets(batch: &Batch) -> Targets {
    Targets::from_sequences(&batch.labels)
}

/// Per-frame log-probabilities `[T, N, C]` of a batch, on the host.
fn log_probs(
    model: &AcousticModel,
    batch: &Batch,
    s: &Sizes,
    dev: &kiln_core::burn::tensor::Device,
) -> kiln_core::Result<Vec<f64>> {
    let x = convert::tensor_f32(&batch.x, [s.frames, batch.n, s.features], dev)?;
    convert::to_vec_f64(&model.forward(x).detach())
}

/// Greedy, beam and beam + LM error rates of a model on a batch.
fn evaluate(
    lp: &[f64],
    batch: &Batch,
    setup: &Setup,
    beam: &BeamSearch,
    beam_lm: &BeamSearch,
) -> kiln_core::Result<[ErrorRate; 3]> {
    let (t, n) = (setup.sizes.frames, batch.n);
    let dims = [t, n, CLASSES];
    let lengths = vec![t; n];
    let beams = beam.decode_batch(lp, dims, &lengths)?;
    let fused = beam_lm.decode_batch(lp, dims, &lengths)?;
    let greedy = greedy_batch(lp, dims, &lengths, BLANK)?;
    let mut rates = [ErrorRate::default(); 3];
    for b in 0..n {
        let reference = setup.alphabet.text(&batch.labels[b])?;
        rates[0].add(&greedy[b].text(&setup.alphabet)?, &reference);
        for (rate, hyps) in rates[1..].iter_mut().zip([&beams[b], &fused[b]]) {
            let h = match hyps.first() {
                Some(h) => h.text(&setup.alphabet)?,
                None => String::new(),
            };
            rate.add(&h, &reference);
        }
    }
    Ok(rates)
}

fn beam_with_lm(
    alphabet: &Alphabet,
    width: usize,
    lm: &Arc<NgramLm>,
    alpha: f64,
    beta: f64,
) -> kiln_core::Result<BeamSearch> {
    Ok(BeamSearch::new(
        BeamSearchParams::new(alphabet.clone())
            .beam_width(width)
            .lm(lm.clone())
            .alpha(alpha)
            .beta(beta)
            .check()?,
    ))
}

/// Trains one variant and evaluates it.
fn train(
    setup: &Setup,
    v: &Variant,
    config: &ExperimentConfig,
    dev_batch: Option<&Batch>,
    lm: &Arc<NgramLm>,
) -> kiln_core::Result<(RunLog, Option<(f64, f64)>)> {
    let s = setup.sizes;
    let dev = device(config.backend, Autodiff::On, Precision::F32)?;
    // Same initialization for every variant: reseed Burn's RNG before building the model.
    kiln_core::seed::seed(&dev, config.seed);
    let mut model = AcousticModel::new(s.features, s.conv, s.hidden, CLASSES, &dev);
    if let Some(bias) = v.blank_bias {
        let b = blank_bias_init(model.output_bias()?, BLANK, bias)?;
        model = model.with_output_bias(&b, &dev)?;
    }
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let prior_t = convert::tensor_f32(
        &setup.prior.iter().map(|&p| p as f32).collect::<Vec<_>>(),
        [CLASSES],
        &dev,
    )?;
    // Same batches for every variant.
    let mut data = rng_stream(config.seed, 1);
    let mut log = RunLog {
        loss: Vec::with_capacity(s.steps),
        stats: Vec::with_capacity(s.steps),
        errors: [ErrorRate::default(); 3],
    };
    for step in 0..s.steps {
        let batch = setup.task.batch(s.batch, &mut data);
        let x = convert::tensor_f32(&batch.x, [s.frames, batch.n, s.features], &dev)?;
        let lp = model.forward(x);
        let host = convert::to_vec_f64(&lp.clone().detach())?;
        log.stats.push(blank_stats(
            &host,
            [s.frames, batch.n, CLASSES],
            &vec![s.frames; batch.n],
            BLANK,
        )?);
        let il = vec![s.frames as i64; batch.n];
        let ctc = setup.loss.forward(lp.clone(), &targets(&batch), &il)?;
        let value = convert::scalar_f64(&ctc)?;
        kiln_core::errors::ensure_finite(&[value], "CTC training loss")?;
        log.loss.push(value);
        let mut total: Tensor<1> = ctc;
        if v.entropy_weight > 0.0 {
            total = total - entropy_bonus(lp.clone()).mul_scalar(v.entropy_weight);
        }
        if v.prior_weight > 0.0 {
            total = total + label_prior_penalty(lp, prior_t.clone())?.mul_scalar(v.prior_weight);
        }
        let grads = GradientsParams::from_grads(total.backward(), &model);
        model = optim.step(s.lr, model, grads);
        config.progress.inc(1);
        if step % 50 == 0 {
            config.progress.message(&format!(
                "{}: step {step}, loss {value:.3}, empty outputs {:.0}%",
                v.key,
                100.0 * log.stats[step].empty_output_fraction
            ));
        }
    }
    // The LM weights are tuned once, on the dev set, with the no-remedy model.
    let mut tuned = None;
    let mut beam_lm = setup.beam_lm.clone();
    if let Some(dev_batch) = dev_batch {
        let lp = log_probs(&model, dev_batch, &s, &dev)?;
        let mut best = (f64::INFINITY, setup.lm_weights);
        for alpha in [0.25, 0.5, 1.0, 1.5] {
            for beta in [0.0, 1.0, 2.0] {
                let b = beam_with_lm(&setup.alphabet, s.beam, lm, alpha, beta)?;
                let r = evaluate(&lp, dev_batch, setup, &setup.beam, &b)?;
                if r[2].wer() < best.0 {
                    best = (r[2].wer(), (alpha, beta));
                }
            }
        }
        tuned = Some(best.1);
        beam_lm = beam_with_lm(&setup.alphabet, s.beam, lm, best.1.0, best.1.1)?;
    }
    let lp = log_probs(&model, &setup.test, &s, &dev)?;
    log.errors = evaluate(&lp, &setup.test, setup, &setup.beam, &beam_lm)?;
    Ok((log, tuned))
}

/// Runs the experiment.
pub fn run(config: &ExperimentConfig) -> kiln_core::Result<ExperimentReport> {
    let sizes = Sizes::new(config.quick);
    let task = Task::new(config.seed, sizes.frames, sizes.features, sizes.noise);
    let alphabet = Alphabet::from_chars(ALPHABET, BLANK)?;
    let loss = CtcLoss::new(
        CtcLossParams::new()
            .blank(BLANK)
            .classes(CLASSES)
            .reduction(Reduction::Mean)
            .input(InputKind::LogProbs)
            .check()?,
    );
    let lm = Arc::new(NgramLm::parse(
        &task.arpa(&mut rng_stream(config.seed, 4), sizes.lm_sentences),
    )?);
    let prior = task.ctc_prior(&mut rng_stream(config.seed, 5), 2000);
    let test = task.batch(sizes.test, &mut rng_stream(config.seed, 2));
    let dev_batch = task.batch(sizes.dev, &mut rng_stream(config.seed, 3));
    let beam = BeamSearch::new(
        BeamSearchParams::new(alphabet.clone())
            .beam_width(sizes.beam)
            .check()?,
    );
    let beam_lm = beam_with_lm(&alphabet, sizes.beam, &lm, 0.5, 1.0)?;
    let mut setup = Setup {
        sizes,
        task,
        alphabet,
        loss,
        prior,
        test,
        beam,
        beam_lm,
        lm_weights: (0.5, 1.0),
    };

    config
        .progress
        .set_length((VARIANTS.len() * sizes.steps) as u64);
    let mut logs = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        config.progress.message(&format!("training: {}", v.label));
        let (log, tuned) = train(&setup, v, config, (i == 0).then_some(&dev_batch), &lm)?;
        if let Some((alpha, beta)) = tuned {
            setup.lm_weights = (alpha, beta);
            setup.beam_lm = beam_with_lm(&setup.alphabet, sizes.beam, &lm, alpha, beta)?;
        }
        logs.push(log);
    }
    Ok(report(&setup, &logs, config))
}

fn report(setup: &Setup, logs: &[RunLog], config: &ExperimentConfig) -> ExperimentReport {
    let s = setup.sizes;
    let mut report = ExperimentReport::new(
        NAME,
        "CTC: the blank plateau, its remedies, and training loss vs decoding",
        format!(
            "A conv(k=5, {}) + BiGRU({}) + linear model is trained with kiln's CTC loss (mean \
             reduction) and Adam (lr {}, eps 1e-8, batch {}, {} steps) on synthetic sequences: \
             T = {} noisy {}-dimensional frames spelling 1-3 digit words (labels 1-9 and a \
             space, at most 8 labels, each held 2-5 frames, 0-2 silent frames between). Four \
             runs share the seed, the initialization and the batches and differ only in the \
             blank-collapse remedy: none, +3 blank-logit bias at init, entropy bonus 0.1, \
             label-prior penalty 1.0 (KL from the batch-mean posterior to the peaky-CTC frame \
             prior). Each records the loss, the blank posterior mass, the fraction of frames \
             decoded as blank and the fraction of empty greedy outputs per step, and the \
             greedy / beam ({}) / beam + word-bigram LM character and word error rates on {} \
             held-out sequences.",
            s.conv, s.hidden, s.lr, s.batch, s.steps, s.frames, s.features, s.beam, s.test
        ),
    );
    let steps: Vec<f64> = (0..s.steps).map(|i| i as f64).collect();
    let mut loss_fig = Figure::new("ctc_loss", "CTC training loss", "step", "loss (mean)").log_y();
    let mut blank_fig = Figure::new(
        "ctc_blank_frames",
        "Fraction of frames decoded as blank (training batch)",
        "step",
        "fraction",
    );
    let mut mass_fig = Figure::new(
        "ctc_blank_mass",
        "Mean blank posterior (training batch)",
        "step",
        "probability",
    );
    let mut empty_fig = Figure::new(
        "ctc_empty_outputs",
        "Fraction of empty greedy outputs (plateau: >= 0.95)",
        "step",
        "fraction",
    );
    for (v, log) in VARIANTS.iter().zip(logs) {
        let series = |f: fn(&BlankStats) -> f64| log.stats.iter().map(f).collect::<Vec<f64>>();
        loss_fig = loss_fig.with_series(v.label, steps.clone(), log.loss.clone());
        blank_fig =
            blank_fig.with_series(v.label, steps.clone(), series(|b| b.blank_frame_fraction));
        mass_fig = mass_fig.with_series(v.label, steps.clone(), series(|b| b.blank_mass));
        empty_fig =
            empty_fig.with_series(v.label, steps.clone(), series(|b| b.empty_output_fraction));

        variant_metrics(&mut report, v, log, s.steps);
    }
    report.metric(
        "lm_alpha",
        setup.lm_weights.0,
        "",
        "LM weight chosen on the dev set (no-remedy model, lowest beam + LM WER)",
    );
    report.metric(
        "lm_beta",
        setup.lm_weights.1,
        "",
        "word insertion bonus chosen on the dev set",
    );
    let xs: Vec<f64> = (0..VARIANTS.len()).map(|i| i as f64).collect();
    let mut cer_fig = Figure::new(
        "ctc_error_rates",
        "Held-out CER by variant (0 none, 1 +3 bias, 2 entropy, 3 prior)",
        "variant",
        "CER (%)",
    );
    let mut wer_fig = Figure::new(
        "ctc_word_error_rates",
        "Held-out WER by variant (0 none, 1 +3 bias, 2 entropy, 3 prior)",
        "variant",
        "WER (%)",
    );
    for (d, name) in ["greedy", "beam", "beam + LM"].iter().enumerate() {
        cer_fig = cer_fig.with_series(
            *name,
            xs.clone(),
            logs.iter().map(|l| 100.0 * l.errors[d].cer()).collect(),
        );
        wer_fig = wer_fig.with_series(
            *name,
            xs.clone(),
            logs.iter().map(|l| 100.0 * l.errors[d].wer()).collect(),
        );
    }
    report.figure(loss_fig);
    report.figure(blank_fig);
    report.figure(mass_fig);
    report.figure(empty_fig);
    report.figure(cer_fig);
    report.figure(wer_fig);

    add_notes(&mut report, setup, logs, config);
    report
}

/// The metrics of one variant: plateau entry and exit, final loss, error rates per decoder.
fn variant_metrics(report: &mut ExperimentReport, v: &Variant, log: &RunLog, total_steps: usize) {
    let (entry, exit) = match log.plateau() {
        Some((a, b)) => (a as f64, b as f64),
        None => (-1.0, -1.0),
    };
    let key = v.key;
    report.metric(
        format!("{key}_plateau_entry"),
        entry,
        "step",
        format!(
            "{}: first step whose greedy outputs are >= 95% empty (-1: never)",
            v.label
        ),
    );
    report.metric(
        format!("{key}_plateau_exit"),
        exit,
        "step",
        format!(
            "{}: one past the last step in the plateau (-1: never entered; {} steps: never left)",
            v.label, total_steps
        ),
    );
    report.metric(
        format!("{key}_final_loss"),
        log.final_loss(),
        "",
        format!("{}: mean training loss of the last 10 steps", v.label),
    );
    for (d, name) in ["greedy", "beam", "beam_lm"].iter().enumerate() {
        report.metric(
            format!("{key}_cer_{name}"),
            100.0 * log.errors[d].cer(),
            "%",
            format!(
                "{}: held-out character error rate, {name} decoding",
                v.label
            ),
        );
        report.metric(
            format!("{key}_wer_{name}"),
            100.0 * log.errors[d].wer(),
            "%",
            format!("{}: held-out word error rate, {name} decoding", v.label),
        );
    }
}

/// What was measured, this run's outcome, the reference run it is compared with, and how to
/// rerun.
fn add_notes(
    report: &mut ExperimentReport,
    setup: &Setup,
    logs: &[RunLog],
    config: &ExperimentConfig,
) {
    let s = setup.sizes;
    let plateau_text = |i: usize| match logs[i].plateau() {
        Some((a, b)) if b >= s.steps => {
            format!("entered at step {a}, never left in {} steps", s.steps)
        }
        Some((a, b)) => format!("entered at step {a}, left at step {b}"),
        None => "never entered".to_string(),
    };
    report.note(format!(
        "Measured: per training step, on the step's batch before the update, \
         `monitor::blank_stats` (mean blank posterior, fraction of frames whose argmax is \
         blank, fraction of sequences whose greedy output is empty). A step is *in the blank \
         plateau* when >= {:.0}% of the batch decodes to the empty string; the plateau runs \
         from the first such step to one past the last. Error rates: Levenshtein distance / \
         reference length, characters (spaces included) and words, on {} held-out sequences \
         from a separate random stream; beam = prefix beam search width {}, beam + LM = the \
         same with shallow fusion of a word bigram ARPA model (absolute discounting, written \
         from {} training sentences), alpha {} beta {} chosen on {} dev sequences.",
        100.0 * PLATEAU_EMPTY_FRACTION,
        s.test,
        s.beam,
        s.lm_sentences,
        setup.lm_weights.0,
        setup.lm_weights.1,
        s.dev
    ));
    report.note(format!(
        "This run (seed {}): no remedy {}; +3 bias {}; entropy bonus {}; label prior {}. \
         Final greedy CER: {:.1}% / {:.1}% / {:.1}% / {:.1}%.",
        config.seed,
        plateau_text(0),
        plateau_text(1),
        plateau_text(2),
        plateau_text(3),
        100.0 * logs[0].errors[0].cer(),
        100.0 * logs[1].errors[0].cer(),
        100.0 * logs[2].errors[0].cer(),
        100.0 * logs[3].errors[0].cer(),
    ));
    report.note(
        "Reference (the issue's PyTorch toy run: T = 60, 8 labels of 10 classes, BiGRU(48), Adam \
         3e-3, batch 32): all-blank plateau entered within 10 steps and left after ~250-270; a \
         +3 blank bias left it ~150 steps earlier and roughly halved the final CER; a 0.1 \
         entropy bonus helped by ~10 steps. Differences here: a conv layer before the BiGRU, \
         a word delimiter among the 10 labels (so an LM can be fused), Adam epsilon 1e-8, \
         fresh batches every step. See crates/kiln-ctc/README.md for the comparison of the \
         full run.",
    );
    report.note(
        "Rerun: `kiln reproduce ctc` (full, a few minutes on 2 cores) or `kiln reproduce ctc \
         --quick` (seconds; tiny model, 6 steps: exercises every path, numbers meaningless); \
         `--seed N` changes task, initialization and data together.",
    );
}
