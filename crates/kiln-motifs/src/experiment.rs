//! The seed experiment (`kiln reproduce motifs`): does training enrich feed-forward loops in an
//! RNN's recurrent weights? And, as a network nobody here wrote, the C. elegans connectome.
//!
//! A burn-nn [`Rnn`] (tanh, `HIDDEN` units) with a linear read-out learns a filtering task: the
//! input is a 0/1 pulse train with brief (1-2 steps) and persistent (5-8 steps) pulses; the
//! target is 1 while the input has been on for the last 4 steps (a persistence detector, the
//! function Mangan & Alon ascribe to the coherent FFL). Before and after training the recurrent
//! matrix `gate.hidden_transform.weight` (`[in, out]`, edge `i -> j`) keeps its top 10% of
//! off-diagonal weights by magnitude; each graph gets its FFL count, z and significance
//! profile under the switching null and its signed FFL types. Several seeds.

use kiln_core::burn;
use kiln_core::burn::module::Module;
use kiln_core::burn::nn::{Linear, LinearConfig, Rnn, RnnConfig};
use kiln_core::burn::optim::{AdamConfig, GradientsParams};
use kiln_core::burn::tensor::activation::sigmoid;
use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::seed::rng_stream;
use kiln_core::{Autodiff, ExperimentConfig, ExperimentReport, Figure, Precision, convert, device};
use rand::{Rng, RngExt};

use crate::hyperparams::{NullModel, SignificanceParams, WeightGraphParams};
use crate::input::parse_edge_list;
use crate::isoclass::{FFL_ID, Triad};
use crate::signed::signed_ffls;
use crate::significance::significance;
use crate::weights::module_graph;

/// Name on the command line.
pub const NAME: &str = "motifs";

/// The C. elegans chemical-synapse connectome (White 1986, >= 1 synapse; OpenWorm
/// ConnectomeToolbox, MIT), as a 0-based edge list.
const CELEGANS: &str = include_str!("../tests/data/celegans_white1986_chem_syn_ge1.edges.txt");

const HIDDEN: usize = 32;
const PERSIST: usize = 4;
const KEEP_TOP: f64 = 0.1;

struct Sizes {
    seeds: u64,
    steps: usize,
    batch: usize,
    frames: usize,
    nulls: usize,
    lr: f64,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Sizes {
                seeds: 2,
                steps: 15,
                batch: 16,
                frames: 30,
                nulls: 20,
                lr: 1e-2,
            }
        } else {
            Sizes {
                seeds: 10,
                steps: 400,
                batch: 32,
                frames: 40,
                nulls: 200,
                lr: 1e-2,
            }
        }
    }
}

/// RNN + linear read-out.
#[derive(Module, Debug)]
struct PulseFilter {
    rnn: Rnn,
    out: Linear,
}

impl PulseFilter {
    fn new(dev: &Device) -> Self {
        Self {
            rnn: RnnConfig::new(1, HIDDEN, true).init(dev),
            out: LinearConfig::new(HIDDEN, 1).init(dev),
        }
    }

    /// Logits `[batch, frames, 1]` of inputs `[batch, frames, 1]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let (h, _) = self.rnn.forward(x, None);
        self.out.forward(h)
    }
}

/// A batch of pulse trains and persistence targets, row-major `[batch, frames]`.
fn pulse_batch(batch: usize, frames: usize, rng: &mut impl Rng) -> (Vec<f32>, Vec<f32>) {
    let mut x = vec![0f32; batch * frames];
    let mut y = vec![0f32; batch * frames];
    for b in 0..batch {
        let row = &mut x[b * frames..(b + 1) * frames];
        let mut t = rng.random_range(0..4);
        while t < frames {
            let len = if rng.random_bool(0.5) {
                rng.random_range(1..=2)
            } else {
                rng.random_range(5..=8)
            };
            for v in row.iter_mut().skip(t).take(len) {
                *v = 1.0;
            }
            t += len + rng.random_range(2..=6);
        }
        let mut run = 0;
        for t in 0..frames {
            run = if row[t] > 0.5 { run + 1 } else { 0 };
            y[b * frames + t] = if run >= PERSIST { 1.0 } else { 0.0 };
        }
    }
    (x, y)
}

/// What one graph (before or after training) shows.
struct GraphStats {
    ffl: f64,
    z: f64,
    profile: Vec<f64>,
    coherent_fraction: f64,
    induced_by_type: [u64; 8],
}

fn graph_stats(model: &PulseFilter, nulls: usize, seed: u64) -> kiln_core::Result<GraphStats> {
    let rule = WeightGraphParams::new().keep_top(KEEP_TOP).check()?;
    let g = module_graph(&model.rnn, "gate.hidden_transform.weight", &rule)?;
    let params = SignificanceParams::new()
        .model(NullModel::Switching)
        .samples(nulls)
        .check()?;
    let sig = significance(&g, &params, seed, &kiln_core::experiment::NoProgress)?;
    let ffl = sig
        .get(FFL_ID)
        .map(|m| (m.count as f64, m.z.unwrap_or(0.0)))
        .unwrap_or((0.0, 0.0));
    let signed = signed_ffls(&g)?;
    let total = signed.induced.total();
    Ok(GraphStats {
        ffl: ffl.0,
        z: ffl.1,
        profile: sig.profile,
        coherent_fraction: if total > 0 {
            signed.induced.coherent() as f64 / total as f64
        } else {
            0.0
        },
        induced_by_type: signed.induced.by_type,
    })
}

/// One seed: stats before, training (loss per step, accuracy), stats after.
struct SeedRun {
    before: GraphStats,
    after: GraphStats,
    loss: Vec<f64>,
    accuracy: f64,
    baseline: f64,
}

fn run_seed(config: &ExperimentConfig, s: &Sizes, seed: u64) -> kiln_core::Result<SeedRun> {
    let dev = device(config.backend, Autodiff::On, Precision::F32)?;
    kiln_core::seed::seed(&dev, seed);
    let mut model = PulseFilter::new(&dev);
    let before = graph_stats(&model, s.nulls, seed)?;
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut data = rng_stream(seed, 1);
    let mut loss = Vec::with_capacity(s.steps);
    for step in 0..s.steps {
        let (x, y) = pulse_batch(s.batch, s.frames, &mut data);
        let xt = convert::tensor_f32(&x, [s.batch, s.frames, 1], &dev)?;
        let yt = convert::tensor_f32(&y, [s.batch, s.frames, 1], &dev)?;
        let err = sigmoid(model.forward(xt)) - yt;
        let l = (err.clone() * err).mean();
        let value = convert::scalar_f64(&l)?;
        kiln_core::errors::ensure_finite(&[value], "motifs RNN training loss")?;
        loss.push(value);
        let grads = GradientsParams::from_grads(l.backward(), &model);
        model = optim.step(s.lr, model, grads);
        config.progress.inc(1);
        if step % 50 == 0 {
            config
                .progress
                .message(&format!("seed {seed}: step {step}, loss {value:.4}"));
        }
    }
    // Held-out accuracy, and the baseline that copies the input (fires on brief pulses too).
    let (x, y) = pulse_batch(64, s.frames, &mut rng_stream(seed, 2));
    let xt = convert::tensor_f32(&x, [64, s.frames, 1], &dev)?;
    let p = convert::to_vec_f32(&sigmoid(model.forward(xt)).detach())?;
    let hits = p
        .iter()
        .zip(&y)
        .filter(|(p, y)| (**p > 0.5) == (**y > 0.5))
        .count();
    let base = x.iter().zip(&y).filter(|(x, y)| x == y).count();
    let after = graph_stats(&model, s.nulls, seed)?;
    Ok(SeedRun {
        before,
        after,
        loss,
        accuracy: hits as f64 / y.len() as f64,
        baseline: base as f64 / y.len() as f64,
    })
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.collect();
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Runs the experiment.
pub fn run(config: &ExperimentConfig) -> kiln_core::Result<ExperimentReport> {
    let s = Sizes::new(config.quick);
    let started = std::time::Instant::now();
    config
        .progress
        .set_length(s.seeds * s.steps as u64 + NullModel::ALL.len() as u64);
    let mut report = describe(&s);
    let mut runs = Vec::new();
    for i in 0..s.seeds {
        runs.push(run_seed(config, &s, config.seed.wrapping_add(i))?);
    }
    add_seed_metrics(&mut report, &runs);
    add_mean_metrics(&mut report, &runs);
    add_ffl_type_metrics(&mut report, &runs);
    add_seed_figures(&mut report, &runs);
    add_celegans(&mut report, config, &s)?;
    report.metric(
        "seconds",
        started.elapsed().as_secs_f64(),
        "s",
        "wall time of the run",
    );
    add_notes(&mut report, config, &s);
    Ok(report)
}

/// The report's title and description.
fn describe(s: &Sizes) -> ExperimentReport {
    ExperimentReport::new(
        NAME,
        "Network motifs of a trained RNN and of C. elegans",
        format!(
            "A burn-nn RNN ({HIDDEN} tanh units) learns to detect input pulses that persist \
             {PERSIST} steps and ignore brief ones. Its recurrent matrix is thresholded (top \
             {:.0}% of |w|) before and after training; feed-forward-loop (FFL, MAN 030T, mfinder \
             38) counts and z-scores against the mfinder switching null are compared over {} \
             seeds, with signed FFL types. The C. elegans chemical-synapse connectome is tested \
             under all four null models.",
            KEEP_TOP * 100.0,
            s.seeds
        ),
    )
}

/// Each seed's FFL count and z before and after training, and its held-out accuracy.
fn add_seed_metrics(report: &mut ExperimentReport, runs: &[SeedRun]) {
    for (i, r) in runs.iter().enumerate() {
        report.metric(
            format!("seed{i}_ffl_before"),
            r.before.ffl,
            "",
            "FFL count of the untrained recurrent graph",
        );
        report.metric(
            format!("seed{i}_ffl_after"),
            r.after.ffl,
            "",
            "FFL count after training",
        );
        report.metric(
            format!("seed{i}_ffl_z_before"),
            r.before.z,
            "z",
            "FFL z (switching null) before training",
        );
        report.metric(
            format!("seed{i}_ffl_z_after"),
            r.after.z,
            "z",
            "FFL z (switching null) after training",
        );
        report.metric(
            format!("seed{i}_accuracy"),
            r.accuracy,
            "",
            "held-out per-step accuracy after training",
        );
    }
}

/// Means over seeds: FFL count, z, coherent share, accuracy and the copy-input baseline.
fn add_mean_metrics(report: &mut ExperimentReport, runs: &[SeedRun]) {
    report.metric(
        "ffl_mean_before",
        mean(runs.iter().map(|r| r.before.ffl)),
        "",
        "mean FFL count over seeds, untrained",
    );
    report.metric(
        "ffl_mean_after",
        mean(runs.iter().map(|r| r.after.ffl)),
        "",
        "mean FFL count over seeds, trained",
    );
    report.metric(
        "ffl_z_mean_before",
        mean(runs.iter().map(|r| r.before.z)),
        "z",
        "mean FFL z over seeds, untrained",
    );
    report.metric(
        "ffl_z_mean_after",
        mean(runs.iter().map(|r| r.after.z)),
        "z",
        "mean FFL z over seeds, trained",
    );
    report.metric(
        "coherent_fraction_before",
        mean(runs.iter().map(|r| r.before.coherent_fraction)),
        "",
        "coherent share of induced FFLs (C1..C4), untrained",
    );
    report.metric(
        "coherent_fraction_after",
        mean(runs.iter().map(|r| r.after.coherent_fraction)),
        "",
        "coherent share of induced FFLs, trained",
    );
    report.metric(
        "accuracy_mean",
        mean(runs.iter().map(|r| r.accuracy)),
        "",
        "held-out accuracy, mean over seeds",
    );
    report.metric(
        "copy_input_baseline",
        mean(runs.iter().map(|r| r.baseline)),
        "",
        "accuracy of echoing the input (fires on brief pulses)",
    );
}

/// Induced FFLs per sign type, summed over seeds, before and after training.
fn add_ffl_type_metrics(report: &mut ExperimentReport, runs: &[SeedRun]) {
    for (when, pick) in [
        (
            "before",
            (|r: &SeedRun| r.before.induced_by_type) as fn(&SeedRun) -> [u64; 8],
        ),
        ("after", |r: &SeedRun| r.after.induced_by_type),
    ] {
        let mut types = [0u64; 8];
        for r in runs {
            for (t, c) in types.iter_mut().zip(pick(r)) {
                *t += c;
            }
        }
        for (t, c) in crate::signed::FflType::ALL.iter().zip(types) {
            report.metric(
                format!("ffl_type_{}_{when}", t.name()),
                c as f64,
                "",
                format!(
                    "induced FFLs of sign type {}, summed over seeds, {when} training",
                    t.name()
                ),
            );
        }
    }
}

/// The mean significance profile before vs after training, and each seed's loss curve.
fn add_seed_figures(report: &mut ExperimentReport, runs: &[SeedRun]) {
    let classes: Vec<f64> = (0..13).map(|i| i as f64).collect();
    let sp_mean = |f: &dyn Fn(&SeedRun) -> &Vec<f64>| -> Vec<f64> {
        (0..13)
            .map(|c| mean(runs.iter().map(|r| f(r).get(c).copied().unwrap_or(0.0))))
            .collect()
    };
    report.figure(
        Figure::new(
            "sp_before_after",
            "Significance profile (mean over seeds)",
            "triad class (021D .. 300; 030T = 5)",
            "SP",
        )
        .with_series(
            "before training",
            classes.clone(),
            sp_mean(&|r| &r.before.profile),
        )
        .with_series("after training", classes, sp_mean(&|r| &r.after.profile)),
    );
    let mut loss_fig =
        Figure::new("training_loss", "Pulse-filter training loss", "step", "MSE").log_y();
    for (i, r) in runs.iter().enumerate() {
        loss_fig = loss_fig.with_series(
            format!("seed {i}"),
            (0..r.loss.len()).map(|x| x as f64).collect(),
            r.loss.clone(),
        );
    }
    report.figure(loss_fig);
}

/// The C. elegans connectome's FFL count and its z under each null model (seed
/// `config.seed + 1000 + k` for the `k`-th null), as metrics and a figure.
fn add_celegans(
    report: &mut ExperimentReport,
    config: &ExperimentConfig,
    s: &Sizes,
) -> kiln_core::Result<()> {
    let worm = parse_edge_list(
        CELEGANS,
        std::path::Path::new("celegans_white1986_chem_syn_ge1"),
    )?;
    let mut zs = Vec::new();
    for (k, model) in NullModel::ALL.into_iter().enumerate() {
        let params = SignificanceParams::new()
            .model(model)
            .samples(s.nulls)
            .check()?;
        let sig = significance(
            &worm,
            &params,
            config.seed.wrapping_add(1000 + k as u64),
            &kiln_core::experiment::NoProgress,
        )?;
        let ffl = sig.get(Triad::T030T.mfinder_id());
        let (count, z) = ffl
            .map(|m| (m.count as f64, m.z.unwrap_or(0.0)))
            .unwrap_or((0.0, 0.0));
        if k == 0 {
            report.metric(
                "celegans_ffl",
                count,
                "",
                "FFL count of the C. elegans chemical-synapse graph (303 neurons, 2386 edges)",
            );
        }
        report.metric(
            format!("celegans_ffl_z_{}", model.name()),
            z,
            "z",
            "C. elegans FFL z under this null",
        );
        zs.push(z);
        config.progress.inc(1);
    }
    report.figure(
        Figure::new(
            "celegans_ffl_z",
            "C. elegans FFL z by null model",
            "null (0 switching, 1 degree, 2 configuration, 3 gnm)",
            "z",
        )
        .with_series("FFL z", (0..zs.len()).map(|x| x as f64).collect(), zs),
    );
    Ok(())
}

/// The quick-run caveat (quick mode only) and how the graphs and z are made.
fn add_notes(report: &mut ExperimentReport, config: &ExperimentConfig, s: &Sizes) {
    if config.quick {
        report.note(format!(
            "**Quick run: not converged.** {} seeds x {} Adam steps (batch {}, {} frames), {} null \
             graphs per test; the FFL numbers describe a barely trained network. Run `kiln \
             reproduce motifs` for the full run ({} seeds x 400 steps, 200 null graphs).",
            s.seeds,
            s.steps,
            s.batch,
            s.frames,
            s.nulls,
            Sizes::new(false).seeds
        ));
    }
    report.note(
        "Graphs keep the top 10% of off-diagonal recurrent weights by |w| (sign kept); z uses \
         the mfinder switching null (Q = 10), z = 0 where the null's std is 0. Milo et al. 2002 \
         quote FFL z about 3.7 for the C. elegans neuronal network (their data and null \
         differ: compare the sign and order of magnitude).",
    );
}
