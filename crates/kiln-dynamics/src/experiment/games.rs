//! Part 2: gradient play on `f(x, y) = x y` (every rule, norm clipping at several thresholds,
//! value clipping) and on a small GAN (1-D mixture of two Gaussians, MLP generator and
//! discriminator as flat parameter vectors) with and without clipping and with extragradient.

use kiln_core::burn::tensor::activation::log_sigmoid;
use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::{ExperimentConfig, convert};
use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use crate::errors::Result;
use crate::game::{Game, GameRunner, JacobianSummary, Point, Trajectory, bilinear, winding_turns};
use crate::hyperparams::{Clip, GameAlgorithm, GameParams, GamesValidParams};

/// Hidden units of the GAN's generator and discriminator (1 -> H tanh -> 1 each).
pub const GAN_HIDDEN: usize = 16;
/// Parameters of one GAN player: `W1 [1, H]`, `b1 [H]`, `W2 [H, 1]`, `b2 [1]`.
pub const GAN_PARAMS: usize = 3 * GAN_HIDDEN + 1;
/// Modes of the target mixture (equal weights, sd [`GAN_MODE_SD`]).
pub const GAN_MODES: [f64; 2] = [-2.0, 2.0];
/// Standard deviation of each mode.
pub const GAN_MODE_SD: f64 = 0.3;

/// One labelled run on `x y`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BilinearRun {
    /// Short key (`gda`, `gda_clip_norm_0.3`, ...).
    pub key: String,
    /// Legend label.
    pub label: String,
    /// The trajectory (every step recorded).
    pub trajectory: Trajectory,
    /// Turns around the equilibrium.
    pub winding: f64,
    /// Fraction of steps where clipping changed the gradient.
    pub clipped_fraction: f64,
}

/// One GAN run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GanRun {
    /// Short key.
    pub key: String,
    /// Legend label.
    pub label: String,
    /// Steps at which `w1` was measured.
    pub steps: Vec<usize>,
    /// 1-Wasserstein distance between generated and target samples at those steps.
    pub w1: Vec<f64>,
    /// Norm of the joint gradient per step.
    pub grad_norm: Vec<f64>,
    /// Generated samples at the end.
    pub samples: Vec<f64>,
    /// Fraction of steps where clipping changed a gradient.
    pub clipped_fraction: f64,
}

/// Everything part 2 measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GamesOutcome {
    /// Runs on `x y`.
    pub bilinear: Vec<BilinearRun>,
    /// The Jacobian of the `x y` vector field at the start.
    pub jacobian: JacobianSummary,
    /// GAN runs.
    pub gan: Vec<GanRun>,
    /// Target samples the GAN runs are compared with.
    pub gan_target: Vec<f64>,
}

fn bilinear_runs(
    params: &GamesValidParams,
    config: &ExperimentConfig,
) -> Result<(Vec<BilinearRun>, JacobianSummary)> {
    let game = Game::new(bilinear, 1, 1, config.backend)?
        .with_equilibrium(Point::new(vec![0.0], vec![0.0]))?;
    let [x0, y0] = params.start();
    let start = Point::new(vec![x0], vec![y0]);
    let jacobian = game.jacobian(&start, 1e-3)?;
    let mut specs: Vec<(String, String, GameAlgorithm, Clip)> = vec![(
        "gda".into(),
        "simultaneous GDA".into(),
        GameAlgorithm::Simultaneous,
        Clip::None,
    )];
    for c in params.clip_norms() {
        specs.push((
            format!("gda_clip_norm_{c}"),
            format!("GDA, clip norm {c}"),
            GameAlgorithm::Simultaneous,
            Clip::Norm(*c),
        ));
    }
    let c0 = params.clip_norms()[0];
    specs.push((
        format!("gda_clip_value_{c0}"),
        format!("GDA, clip value {c0}"),
        GameAlgorithm::Simultaneous,
        Clip::Value(c0),
    ));
    for a in [
        GameAlgorithm::Alternating,
        GameAlgorithm::Extragradient,
        GameAlgorithm::Optimistic,
    ] {
        specs.push((a.name().into(), a.name().into(), a, Clip::None));
    }
    let mut runs = Vec::new();
    for (key, label, algorithm, clip) in specs {
        config.progress.message(&format!("games: x*y, {label}"));
        let runner = GameRunner::new(
            GameParams::new()
                .algorithm(algorithm)
                .lr(params.lr())
                .steps(params.steps())
                .clip(clip)
                .check()?,
        );
        let trajectory = runner.run(&game, start.clone())?;
        let path: Vec<(f64, f64)> = trajectory.points.iter().map(|p| (p.x[0], p.y[0])).collect();
        let clipped_fraction = trajectory.clipped.iter().filter(|c| **c).count() as f64
            / trajectory.clipped.len() as f64;
        runs.push(BilinearRun {
            key,
            label,
            winding: winding_turns(&path, (0.0, 0.0)),
            clipped_fraction,
            trajectory,
        });
        config.progress.inc(1);
    }
    Ok((runs, jacobian))
}

/// A 1 -> H tanh -> 1 MLP whose parameters are the flat vector `theta`, on inputs `[N, 1]`.
pub fn mlp(theta: Tensor<1>, input: Tensor<2>) -> Tensor<2> {
    let h = GAN_HIDDEN;
    let w1 = theta.clone().slice(0..h).reshape([1, h]);
    let b1 = theta.clone().slice(h..2 * h).reshape([1, h]);
    let w2 = theta.clone().slice(2 * h..3 * h).reshape([h, 1]);
    let b2 = theta.slice(3 * h..3 * h + 1).reshape([1, 1]);
    (input.matmul(w1) + b1).tanh().matmul(w2) + b2
}

/// Zero-sum GAN value (Goodfellow et al. 2014) of generator parameters `g` and discriminator
/// parameters `d` on real samples and noise (`[N, 1]` each):
/// `E log D(x) + E log(1 - D(G(z)))` with `D = sigmoid(mlp(d, .))`, `G = mlp(g, .)`; the
/// generator minimizes it, the discriminator maximizes it.
pub fn gan_value(g: Tensor<1>, d: Tensor<1>, real: Tensor<2>, z: Tensor<2>) -> Tensor<1> {
    let fake = mlp(g, z);
    let real_logit = mlp(d.clone(), real);
    let fake_logit = mlp(d, fake);
    log_sigmoid(real_logit).mean() + log_sigmoid(fake_logit.neg()).mean()
}

/// The same MLP on the host (f64), for evaluation.
fn mlp_host(theta: &[f64], z: f64) -> f64 {
    let h = GAN_HIDDEN;
    (0..h)
        .map(|j| (z * theta[j] + theta[h + j]).tanh() * theta[2 * h + j])
        .sum::<f64>()
        + theta[3 * h]
}

/// Draws `n` samples of the target mixture.
pub fn mixture_samples(n: usize, rng: &mut impl Rng) -> Vec<f64> {
    let noise = Normal::new(0.0, GAN_MODE_SD).expect("constant sd");
    (0..n)
        .map(|i| GAN_MODES[i % GAN_MODES.len()] + noise.sample(rng))
        .collect()
}

/// 1-Wasserstein distance between two equal-size samples (mean gap of the sorted values).
pub fn wasserstein1(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let n = a.len().min(b.len()).max(1);
    a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / n as f64
}

fn gan_runs(
    params: &GamesValidParams,
    config: &ExperimentConfig,
) -> Result<(Vec<GanRun>, Vec<f64>)> {
    let batch = 256;
    let mut data_rng = kiln_core::seed::rng_stream(config.seed, 20);
    let real = mixture_samples(batch, &mut data_rng);
    let std = Normal::new(0.0, 1.0).expect("unit sd");
    let z: Vec<f64> = (0..batch).map(|_| std.sample(&mut data_rng)).collect();
    let mut eval_rng = kiln_core::seed::rng_stream(config.seed, 21);
    let target = mixture_samples(1000, &mut eval_rng);
    let z_eval: Vec<f64> = (0..1000).map(|_| std.sample(&mut eval_rng)).collect();
    let mut init_rng = kiln_core::seed::rng_stream(config.seed, 22);
    let small = Normal::new(0.0, 0.5).expect("constant sd");
    let mut init = || -> Vec<f64> {
        (0..GAN_PARAMS)
            .map(|_| small.sample(&mut init_rng))
            .collect()
    };
    let start = Point::new(init(), init());

    let device: Device = kiln_core::device(
        config.backend,
        kiln_core::Autodiff::On,
        kiln_core::Precision::F32,
    )?;
    let real_t = convert::tensor_f64(&real, [batch, 1], &device)?;
    let z_t = convert::tensor_f64(&z, [batch, 1], &device)?;
    let objective = move |g: Tensor<1>, d: Tensor<1>| -> Tensor<1> {
        gan_value(g, d, real_t.clone(), z_t.clone())
    };
    let game = Game::new(objective, GAN_PARAMS, GAN_PARAMS, config.backend)?;
    let record = (params.gan_steps() / 50).max(1);
    let specs = [
        (
            "gan_gda",
            "GDA".to_string(),
            GameAlgorithm::Simultaneous,
            Clip::None,
        ),
        (
            "gan_gda_clipped",
            format!("GDA, clip norm {}", params.gan_clip_norm()),
            GameAlgorithm::Simultaneous,
            Clip::Norm(params.gan_clip_norm()),
        ),
        (
            "gan_extragradient",
            "extragradient".to_string(),
            GameAlgorithm::Extragradient,
            Clip::None,
        ),
    ];
    let mut runs = Vec::new();
    for (key, label, algorithm, clip) in specs {
        config.progress.message(&format!("games: GAN, {label}"));
        let runner = GameRunner::new(
            GameParams::new()
                .algorithm(algorithm)
                .lr(params.gan_lr())
                .steps(params.gan_steps())
                .clip(clip)
                .record_every(record)
                .check()?,
        );
        let t = runner.run(&game, start.clone())?;
        let generate =
            |p: &Point| -> Vec<f64> { z_eval.iter().map(|&z| mlp_host(&p.x, z)).collect() };
        let w1 = t
            .points
            .iter()
            .map(|p| wasserstein1(&generate(p), &target))
            .collect();
        let samples = t.last().map(generate).unwrap_or_default();
        runs.push(GanRun {
            key: key.to_string(),
            label,
            steps: t.steps.clone(),
            w1,
            grad_norm: t.grad_norm.clone(),
            samples,
            clipped_fraction: t.clipped.iter().filter(|c| **c).count() as f64
                / t.clipped.len() as f64,
        });
        config.progress.inc(1);
    }
    Ok((runs, target))
}

/// Runs part 2.
pub fn run(params: &GamesValidParams, config: &ExperimentConfig) -> Result<GamesOutcome> {
    let (bilinear, jacobian) = bilinear_runs(params, config)?;
    let (gan, gan_target) = gan_runs(params, config)?;
    Ok(GamesOutcome {
        bilinear,
        jacobian,
        gan,
        gan_target,
    })
}

/// Number of progress units part 2 reports.
pub(crate) fn progress_units(params: &GamesValidParams) -> u64 {
    (params.clip_norms().len() + 5 + 3) as u64
}
