//! The seed experiment (`kiln reproduce dynamics`), three parts:
//!
//! 1. [`symmetry`]: an MLP trained from a constant initialization keeps its hidden units
//!    bit-identical at every step (rank 1); random initializers break the tie.
//! 2. [`games`]: gradient play on `x y` (simultaneous GDA spirals out, clipping at several
//!    thresholds, alternating, extragradient, optimistic) and on a small GAN.
//! 3. [`ood`]: a CNN vs the thermodynamic model on promoters, in and out of distribution.

pub mod games;
pub mod ood;
pub mod symmetry;

use kiln_core::{ExperimentConfig, ExperimentReport, Figure};

use crate::hyperparams::{GamesParams, OodParams, SymmetryParams};

/// Name used by `kiln reproduce dynamics`.
pub const NAME: &str = "dynamics";

/// Runs the three parts at the full (or `--quick`) sizes and reports them.
pub fn run(config: &ExperimentConfig) -> kiln_core::Result<ExperimentReport> {
    let (sym, gam, oo) = if config.quick {
        (
            SymmetryParams::quick(),
            GamesParams::quick(),
            OodParams::quick(),
        )
    } else {
        (SymmetryParams::new(), GamesParams::new(), OodParams::new())
    };
    let (sym, gam, oo) = (sym.check()?, gam.check()?, oo.check()?);
    let units = 4 * sym.steps() as u64
        + games::progress_units(&gam)
        + (oo.cnn_steps() + oo.mech_restarts() * oo.mech_steps()) as u64;
    config.progress.set_length(units);
    let started = std::time::Instant::now();
    let s = symmetry::run(&sym, config)?;
    let inits = initializer_table(config, sym.hidden())?;
    let g = games::run(&gam, config)?;
    let o = ood::run(&oo, config)?;
    let mut report = ExperimentReport::new(
        NAME,
        "Training dynamics: symmetry breaking, min-max games with clipping, mechanistic vs learned out of distribution",
        format!(
            "Three seed claims, measured. (1) An MLP 2 -> {h} tanh -> 2 is trained by full-batch \
             SGD (lr {lr}, {steps} steps) on {n} points of two concentric rings from a constant \
             initialization ({c} everywhere) and from Burn's Xavier, Kaiming and orthogonal \
             initializers. (2) Gradient play on f(x, y) = x y from ({x0}, {y0}), lr {glr}, {gs} \
             steps: simultaneous GDA, GDA with gradient-norm clipping at {clips:?} and value \
             clipping, alternating GDA, extragradient, optimistic GDA; and a zero-sum GAN \
             (1-D mixture of two Gaussians, 1-16-1 tanh MLPs) for {gans} steps. (3) Promoters \
             of length {len} labelled by a thermodynamic model; in training the background GC \
             content tracks the binding site's quality (shortcut strength {sp}), in the \
             out-of-distribution test set the relation is reversed; a small CNN and the \
             mechanistic model are fit on {tr} sequences and scored by R^2 on {te} in- and \
             {te} out-of-distribution sequences.",
            h = sym.hidden(),
            lr = sym.lr(),
            steps = sym.steps(),
            n = sym.samples(),
            c = sym.constant(),
            x0 = gam.start()[0],
            y0 = gam.start()[1],
            glr = gam.lr(),
            gs = gam.steps(),
            clips = gam.clip_norms(),
            gans = gam.gan_steps(),
            len = oo.length(),
            sp = oo.spurious(),
            tr = oo.train(),
            te = oo.test(),
        ),
    );
    symmetry_report(&mut report, &s, &sym);
    initializer_report(&mut report, &inits, sym.hidden());
    games_report(&mut report, &g, &gam);
    ood_report(&mut report, &o);
    report.metric(
        "seconds",
        started.elapsed().as_secs_f64(),
        "s",
        "wall-clock time of the three parts",
    );
    if config.quick {
        report.note(
            "--quick: tiny sizes and few steps; the symmetry (bit-identical rows) and the x y \
             distances are exact at any size, but the accuracies, the GAN distances and the R^2 \
             values are NOT converged and mean little.",
        );
    }
    report.note(
        "Rerun: `kiln reproduce dynamics` (full) or `kiln reproduce dynamics --quick`; the parts \
         one by one with their knobs: `kiln dynamics symmetry|game|ood --help`. `--seed N` \
         changes data, initializations and noise together.",
    );
    Ok(report)
}

/// Burn's initializers drawn on one `hidden x hidden` layer and measured before training.
fn initializer_table(
    config: &ExperimentConfig,
    hidden: usize,
) -> kiln_core::Result<Vec<crate::symmetry::InitializerStats>> {
    let dev = kiln_core::device(
        config.backend,
        kiln_core::Autodiff::Off,
        kiln_core::Precision::F32,
    )?;
    kiln_core::seed::seed(&dev, config.seed);
    let red = crate::RedundancyParams::new().check()?;
    Ok(crate::symmetry::compare_initializers(
        &crate::symmetry::standard_initializers(0.3),
        crate::symmetry::LayerShape {
            fan_in: hidden,
            fan_out: hidden,
        },
        &red,
        &dev,
    )?)
}

fn initializer_report(
    report: &mut ExperimentReport,
    stats: &[crate::symmetry::InitializerStats],
    hidden: usize,
) {
    for s in stats {
        let n = &s.name;
        report.metric(
            format!("init_{n}_weight_std"),
            s.weight_std,
            "",
            format!("{n}: std of a fresh {hidden} x {hidden} layer's weights (Burn's initializer)"),
        );
        report.metric(
            format!("init_{n}_min_distance"),
            s.redundancy.min_distance,
            "",
            format!("{n}: smallest distance between two of its neurons before training"),
        );
        report.metric(
            format!("init_{n}_rank"),
            s.redundancy.rank as f64,
            "",
            format!("{n}: numerical rank of its {hidden} neuron rows before training"),
        );
    }
    let flagged: Vec<&str> = stats
        .iter()
        .filter(|s| s.symmetric)
        .map(|s| s.name.as_str())
        .collect();
    report.note(format!(
        "Initializer check before training ({hidden} x {hidden} layer, Burn's initializers): \
         flagged as symmetric: {}; condition number sigma_max / sigma_min: {}.",
        if flagged.is_empty() {
            "none".to_string()
        } else {
            flagged.join(", ")
        },
        stats
            .iter()
            .map(|s| {
                let sv = &s.redundancy.singular_values;
                let (hi, lo) = (
                    sv.first().copied().unwrap_or(0.0),
                    sv.last().copied().unwrap_or(0.0),
                );
                if lo > 0.0 {
                    format!("{} {:.1}", s.name, hi / lo)
                } else {
                    format!("{} inf", s.name)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    ));
}

fn steps_axis(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64).collect()
}

fn symmetry_report(
    report: &mut ExperimentReport,
    runs: &[symmetry::SymmetryRun],
    params: &crate::SymmetryValidParams,
) {
    let mut dist = Figure::new(
        "symmetry_distance",
        "Largest distance between two hidden units (constant init: exactly 0)",
        "step",
        "max pairwise distance",
    );
    let mut rank = Figure::new(
        "symmetry_rank",
        "Numerical rank of the hidden units' parameter vectors",
        "step",
        "rank",
    );
    let mut loss = Figure::new("symmetry_loss", "Training loss", "step", "cross-entropy");
    for r in runs {
        let x = steps_axis(r.max_distance.len());
        dist = dist.with_series(&r.init, x.clone(), r.max_distance.clone());
        rank = rank.with_series(
            &r.init,
            x.clone(),
            r.unit_rank.iter().map(|&v| v as f64).collect(),
        );
        loss = loss.with_series(&r.init, x, r.loss.clone());
        let key = &r.init;
        report.metric(
            format!("symmetry_{key}_accuracy"),
            r.test_accuracy,
            "",
            format!("{key} init: accuracy on 1000 held-out ring points"),
        );
        report.metric(
            format!("symmetry_{key}_weight_rank"),
            r.final_weight_rank as f64,
            "",
            format!(
                "{key} init: numerical rank of the hidden weight rows ({} x 2) after training",
                params.hidden()
            ),
        );
        report.metric(
            format!("symmetry_{key}_unit_rank"),
            r.final_unit_rank as f64,
            "",
            format!(
                "{key} init: rank of the hidden units' full vectors (in-weights, bias, out-weights; {} x 5) after training",
                params.hidden()
            ),
        );
    }
    let constant = runs.iter().find(|r| r.init == "constant");
    let random = runs.iter().find(|r| r.init == "xavier_uniform");
    if let (Some(c), Some(x)) = (constant, random) {
        report.metric(
            "symmetry_constant_rank",
            c.final_weight_rank as f64,
            "",
            "rank of the hidden layer's weight rows after training from constant init",
        );
        report.metric(
            "symmetry_random_rank",
            x.final_weight_rank as f64,
            "",
            "same from Xavier-uniform init (full rank = min(hidden, 2) = 2)",
        );
        let all_pairs = params.hidden() * (params.hidden() - 1) / 2;
        let identical_every_step =
            c.identical_pairs.iter().all(|&p| p == all_pairs) && c.final_max_distance == 0.0;
        report.metric(
            "symmetry_constant_identical_every_step",
            if identical_every_step { 1.0 } else { 0.0 },
            "bool",
            "1 if under constant init every pair of hidden units was bit-identical at every step",
        );
        report.note(format!(
            "Symmetry: under constant init all {all_pairs} pairs of hidden units were \
             bit-identical at {} of {} steps (max pairwise distance at the end {:e}); the hidden \
             weight rows end with rank {} and the weight gradient had rank <= {} at every step, \
             so the network is effectively a 1-unit network: held-out accuracy {:.3} vs {:.3} \
             from Xavier-uniform init (rank {}).",
            c.identical_pairs
                .iter()
                .filter(|&&p| p == all_pairs)
                .count(),
            c.identical_pairs.len(),
            c.final_max_distance,
            c.final_weight_rank,
            c.grad_rank.iter().max().copied().unwrap_or(0),
            c.test_accuracy,
            x.test_accuracy,
            x.final_weight_rank,
        ));
    }
    report.figure(dist);
    report.figure(rank);
    report.figure(loss);
}

/// The games part: the `x y` runs (metrics, comparison note, trajectories), then the GAN.
fn games_report(
    report: &mut ExperimentReport,
    g: &games::GamesOutcome,
    params: &crate::GamesValidParams,
) {
    let (dist, phase) = bilinear_runs(report, g, params);
    bilinear_comparison(report, g, params);
    report.metric(
        "xy_jacobian_rotation",
        g.jacobian.rotation,
        "",
        "x y: antisymmetric share of the vector field's Jacobian (1 = pure rotation)",
    );
    report.figure(dist);
    report.figure(phase);
    gan_report(report, g);
}

/// Each `x y` run's final distance and winding as metrics; returns the distance and
/// phase-plane figures with one series per run.
fn bilinear_runs(
    report: &mut ExperimentReport,
    g: &games::GamesOutcome,
    params: &crate::GamesValidParams,
) -> (Figure, Figure) {
    let mut dist = Figure::new(
        "game_xy_distance",
        "x y: distance to the equilibrium (0, 0)",
        "step",
        "distance",
    )
    .log_y();
    let mut phase = Figure::new(
        "game_xy_phase",
        "x y: phase plane (x horizontal, y vertical)",
        "x",
        "y",
    );
    for r in &g.bilinear {
        let t = &r.trajectory;
        dist = dist.with_series(
            &r.label,
            t.steps.iter().map(|&s| s as f64).collect(),
            t.distances.clone(),
        );
        phase = phase.with_series(
            &r.label,
            t.points.iter().map(|p| p.x[0]).collect(),
            t.points.iter().map(|p| p.y[0]).collect(),
        );
        let d = t.final_distance().unwrap_or(f64::NAN);
        report.metric(
            format!("xy_{}_final_distance", r.key),
            d,
            "",
            format!(
                "x y, {}: distance to (0, 0) after {} steps",
                r.label,
                params.steps()
            ),
        );
        report.metric(
            format!("xy_{}_winding", r.key),
            r.winding,
            "turns",
            format!(
                "x y, {}: turns around (0, 0) (counter-clockwise positive)",
                r.label
            ),
        );
    }
    (dist, phase)
}

/// GDA vs GDA clipped at the first threshold vs extragradient: their final distances as
/// metrics and a note comparing them with the closed forms (only when all three ran).
fn bilinear_comparison(
    report: &mut ExperimentReport,
    g: &games::GamesOutcome,
    params: &crate::GamesValidParams,
) {
    let find = |k: &str| {
        g.bilinear
            .iter()
            .find(|r| r.key == k)
            .and_then(|r| r.trajectory.final_distance())
    };
    let c0 = params.clip_norms()[0];
    let (Some(gda), Some(clipped), Some(eg)) = (
        find("gda"),
        find(&format!("gda_clip_norm_{c0}")),
        find("extragradient"),
    ) else {
        return;
    };
    report.metric(
        "gda_final_distance",
        gda,
        "",
        "x y: simultaneous GDA, distance to the equilibrium after the run",
    );
    report.metric(
        "gda_clipped_final_distance",
        clipped,
        "",
        format!("x y: GDA with gradient-norm clipping at {c0}, same steps"),
    );
    report.metric(
        "extragradient_final_distance",
        eg,
        "",
        "x y: extragradient, same steps",
    );
    report.note(bilinear_note(g, params, gda, eg));
}

/// The `x y` note: GDA and extragradient against their closed forms, what each clipping
/// threshold did, and the Jacobian at the start.
fn bilinear_note(
    g: &games::GamesOutcome,
    params: &crate::GamesValidParams,
    gda: f64,
    eg: f64,
) -> String {
    let start = params.start()[0].hypot(params.start()[1]);
    let lr = params.lr();
    let (clip_text, best_clip) = clipping_summary(g);
    let verdict = if best_clip < eg {
        "a clipped run ended closer than extragradient"
    } else if best_clip < start {
        "clipping ended closer than it started but farther than extragradient"
    } else {
        "no clipping threshold ended closer than it started, unlike extragradient"
    };
    format!(
        "x y (start distance {start:.3}, lr {lr}, {} steps): simultaneous GDA ends at \
         {gda:.4} (closed form {:.4} = start * (1 + lr^2)^(steps/2)); extragradient at \
         {eg:.4} (closed form {:.4} = start * (1 - lr^2 + lr^4)^(steps/2)). Clipping, \
         measured: {clip_text}. Per-player clipping is applied to each player's own \
         gradient, so when only one of them is clipped the step is no longer orthogonal to \
         the radius and the distance can fall as well as rise; it bounds every player's \
         step by lr * c (tested). Closest clipped run to the equilibrium: {best_clip:.4} \
         (start {start:.3}); {verdict}. Jacobian of the vector \
         field at the start: eigenvalues {}, rotation share {:.3} (1 = pure rotation).",
        params.steps(),
        start * (1.0 + lr * lr).powf(params.steps() as f64 / 2.0),
        start * (1.0 - lr * lr + lr.powi(4)).powf(params.steps() as f64 / 2.0),
        g.jacobian
            .eigenvalues
            .iter()
            .map(|e| format!("{:+.3}{:+.3}i", e.re, e.im))
            .collect::<Vec<_>>()
            .join(", "),
        g.jacobian.rotation,
    )
}

/// One line per gradient-clipped GDA run (final and max distance, turns, how often clipping
/// acted), and the closest final distance among them.
fn clipping_summary(g: &games::GamesOutcome) -> (String, f64) {
    let clipped = || g.bilinear.iter().filter(|r| r.key.starts_with("gda_clip"));
    let text = clipped()
        .map(|r| {
            let d = &r.trajectory.distances;
            let max = d.iter().cloned().fold(0.0, f64::max);
            format!(
                "{}: final {:.3}, max {:.3}, {:.2} turns, clipping active on {:.0}% of steps",
                r.label,
                d.last().copied().unwrap_or(f64::NAN),
                max,
                r.winding,
                100.0 * r.clipped_fraction
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let best = clipped()
        .filter_map(|r| r.trajectory.final_distance())
        .fold(f64::INFINITY, f64::min);
    (text, best)
}

/// The GAN runs: final W1 and clipped fraction per run, the initial W1, and the W1,
/// gradient-norm and sample-density figures.
fn gan_report(report: &mut ExperimentReport, g: &games::GamesOutcome) {
    let mut w1 = Figure::new(
        "game_gan_w1",
        "GAN: 1-Wasserstein distance of generated to target samples",
        "step",
        "W1",
    );
    let mut gn = Figure::new(
        "game_gan_grad_norm",
        "GAN: joint gradient norm",
        "step",
        "norm",
    )
    .log_y();
    for r in &g.gan {
        w1 = w1.with_series(
            &r.label,
            r.steps.iter().map(|&s| s as f64).collect(),
            r.w1.clone(),
        );
        gn = gn.with_series(&r.label, steps_axis(r.grad_norm.len()), r.grad_norm.clone());
        report.metric(
            format!("{}_w1", r.key),
            r.w1.last().copied().unwrap_or(f64::NAN),
            "",
            format!(
                "GAN, {}: W1 distance to the target mixture at the end",
                r.label
            ),
        );
        report.metric(
            format!("{}_clipped_fraction", r.key),
            r.clipped_fraction,
            "",
            format!("GAN, {}: fraction of steps where clipping acted", r.label),
        );
    }
    if let Some(first) = g.gan.first() {
        report.metric(
            "gan_w1_init",
            first.w1.first().copied().unwrap_or(f64::NAN),
            "",
            "GAN: W1 distance of the initial generator",
        );
    }
    report.figure(w1);
    report.figure(gn);
    report.figure(gan_samples_figure(g));
}

/// Density of the target samples and of each run's generated samples at the end.
fn gan_samples_figure(g: &games::GamesOutcome) -> Figure {
    let mut hist = Figure::new(
        "game_gan_samples",
        "GAN: density of generated samples at the end vs target",
        "x",
        "density",
    );
    let (label, xs, ys) = histogram("target", &g.gan_target);
    hist = hist.with_series(label, xs, ys);
    for r in &g.gan {
        let (label, xs, ys) = histogram(&r.label, &r.samples);
        hist = hist.with_series(label, xs, ys);
    }
    hist
}

fn histogram(label: &str, v: &[f64]) -> (String, Vec<f64>, Vec<f64>) {
    let (lo, hi, bins) = (-4.0, 4.0, 40);
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0.0; bins];
    for x in v {
        let b = ((x - lo) / width).floor();
        if b >= 0.0 && (b as usize) < bins {
            counts[b as usize] += 1.0;
        }
    }
    let total = v.len().max(1) as f64 * width;
    (
        label.to_string(),
        (0..bins).map(|i| lo + (i as f64 + 0.5) * width).collect(),
        counts.into_iter().map(|c| c / total).collect(),
    )
}

fn ood_report(report: &mut ExperimentReport, o: &ood::OodOutcome) {
    for (name, value, what) in [
        (
            "id_r2_network",
            o.id_r2_network,
            "CNN, in-distribution test set",
        ),
        (
            "ood_r2_network",
            o.ood_r2_network,
            "CNN, reversed-GC test set",
        ),
        (
            "id_r2_mechanistic",
            o.id_r2_mechanistic,
            "thermodynamic model, in-distribution test set",
        ),
        (
            "ood_r2_mechanistic",
            o.ood_r2_mechanistic,
            "thermodynamic model, reversed-GC test set",
        ),
        (
            "id_r2_truth",
            o.id_r2_truth,
            "ground truth (noise ceiling), in distribution",
        ),
        (
            "ood_r2_truth",
            o.ood_r2_truth,
            "ground truth (noise ceiling), out of distribution",
        ),
    ] {
        report.metric(name, value, "R^2", what);
    }
    report.metric(
        "ood_train_gc_correlation",
        o.train_gc_correlation,
        "",
        "Pearson correlation of GC content with activity in the training set",
    );
    report.metric(
        "ood_test_gc_correlation",
        o.ood_gc_correlation,
        "",
        "same in the out-of-distribution test set",
    );
    report.metric(
        "ood_energy_error",
        o.energy_error,
        "kT",
        "largest error of the fitted, gauge-fixed PWM energies vs the planted ones",
    );
    report.note(format!(
        "Out of distribution: GC content correlates {:+.2} with activity in training and {:+.2} \
         in the shifted set. CNN R^2 {:.3} in distribution, {:.3} out; thermodynamic model \
         {:.3} in, {:.3} out (noise ceiling {:.3} / {:.3}); fitted PWM within {:.2} kT of the \
         planted energies.",
        o.train_gc_correlation,
        o.ood_gc_correlation,
        o.id_r2_network,
        o.ood_r2_network,
        o.id_r2_mechanistic,
        o.ood_r2_mechanistic,
        o.id_r2_truth,
        o.ood_r2_truth,
        o.energy_error,
    ));
    let loss = Figure::new("ood_loss", "Training loss (MSE)", "step", "MSE")
        .log_y()
        .with_series(
            "CNN (mini-batch 128)",
            steps_axis(o.cnn_loss.len()),
            o.cnn_loss.clone(),
        )
        .with_series(
            "thermodynamic model (full batch)",
            steps_axis(o.mech_loss.len()),
            o.mech_loss.clone(),
        );
    let truth: Vec<f64> = o.ood_scatter.iter().map(|t| t[0]).collect();
    let scatter = Figure::new(
        "ood_scatter",
        "Out of distribution: predicted vs true activity",
        "true activity",
        "predicted",
    )
    .with_series(
        "CNN",
        truth.clone(),
        o.ood_scatter.iter().map(|t| t[1]).collect(),
    )
    .with_series(
        "thermodynamic",
        truth.clone(),
        o.ood_scatter.iter().map(|t| t[2]).collect(),
    )
    .with_series("identity", truth.clone(), truth);
    let r2 = Figure::new(
        "ood_r2",
        "R^2 in distribution (x = 0) and out of distribution (x = 1)",
        "test set",
        "R^2",
    )
    .with_series(
        "CNN",
        vec![0.0, 1.0],
        vec![o.id_r2_network, o.ood_r2_network],
    )
    .with_series(
        "thermodynamic",
        vec![0.0, 1.0],
        vec![o.id_r2_mechanistic, o.ood_r2_mechanistic],
    );
    report.figure(loss);
    report.figure(scatter);
    report.figure(r2);
}
