//! `kiln dynamics`: the three training-dynamics experiments of kiln-dynamics, one at a time,
//! with their knobs: `symmetry` (constant vs random init), `game` (gradient play on `x y`) and
//! `ood` (CNN vs thermodynamic model out of distribution).

use kiln_core::{ExperimentConfig, KilnError};
use kiln_dynamics::experiment::{ood, symmetry};
use kiln_dynamics::{
    Clip, DynamicsError, Game, GameAlgorithm, GameParams, GameRunner, OodParams, Point,
    SymmetryParams, bilinear, winding_turns,
};
use serde_json::json;

use crate::Globals;
use crate::output::{CliError, CmdResult, Output};
use crate::progress::Bar;

/// Arguments of `kiln dynamics`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DynamicsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DynamicsCommand {
    /// Symmetry breaking: an MLP trained from constant init vs Burn's random initializers;
    /// reports whether hidden units stayed bit-identical, ranks and accuracies.
    Symmetry(SymmetryArgs),
    /// Gradient play on the bilinear game f(x, y) = x y (equilibrium (0, 0)): distance,
    /// winding, step norms, Jacobian eigenvalues.
    Game(GameArgs),
    /// Learned vs mechanistic out of distribution: a CNN and a thermodynamic promoter model
    /// trained where GC content is a shortcut, scored where the shortcut is reversed.
    Ood(OodArgs),
}

/// Knobs of `kiln dynamics symmetry` (defaults: the full experiment's sizes).
#[derive(Debug, clap::Args)]
struct SymmetryArgs {
    /// Hidden units (>= 2).
    #[arg(long, default_value_t = 16)]
    hidden: usize,
    /// Training points (two concentric rings).
    #[arg(long, default_value_t = 400)]
    samples: usize,
    /// Full-batch SGD steps.
    #[arg(long, default_value_t = 600)]
    steps: usize,
    /// SGD learning rate.
    #[arg(long, default_value_t = 0.5)]
    lr: f64,
    /// Value of every weight and bias under constant init (non-zero).
    #[arg(long, default_value_t = 0.3)]
    constant: f64,
}

/// Knobs of `kiln dynamics game`.
#[derive(Debug, clap::Args)]
struct GameArgs {
    /// gda (simultaneous), alternating, extragradient or optimistic.
    #[arg(long, default_value = "gda")]
    algorithm: String,
    /// Learning rate of both players.
    #[arg(long, default_value_t = 0.1)]
    lr: f64,
    /// Number of updates.
    #[arg(long, default_value_t = 500)]
    steps: usize,
    /// Clip each player's gradient to this L2 norm.
    #[arg(long, conflicts_with = "clip_value")]
    clip_norm: Option<f64>,
    /// Clip each gradient component to [-c, c].
    #[arg(long)]
    clip_value: Option<f64>,
    /// Starting x.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    x0: f64,
    /// Starting y.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    y0: f64,
}

/// Knobs of `kiln dynamics ood` (defaults: the full experiment's sizes).
#[derive(Debug, clap::Args)]
struct OodArgs {
    /// Training sequences.
    #[arg(long, default_value_t = 2000)]
    train: usize,
    /// Sequences per test set (in and out of distribution).
    #[arg(long, default_value_t = 1000)]
    test: usize,
    /// Sequence length.
    #[arg(long, default_value_t = 40)]
    length: usize,
    /// Strength of the GC shortcut in [0, 1).
    #[arg(long, default_value_t = 0.8)]
    spurious: f64,
    /// Standard deviation of the label noise.
    #[arg(long, default_value_t = 0.02)]
    noise: f64,
    /// Adam steps of the CNN (mini-batches of 128).
    #[arg(long, default_value_t = 600)]
    cnn_steps: usize,
    /// Adam steps of the thermodynamic model (full batch).
    #[arg(long, default_value_t = 800)]
    mech_steps: usize,
    /// Random starts of the thermodynamic-model fit (lowest training loss wins).
    #[arg(long, default_value_t = 6)]
    mech_restarts: usize,
    /// Standard deviation (kT) of the thermodynamic model's initial energies.
    #[arg(long, default_value_t = 1.0)]
    mech_init_sd: f64,
}

fn bad(e: DynamicsError) -> CliError {
    CliError::from(KilnError::from(e))
}

fn config(globals: &Globals, bar: &std::sync::Arc<Bar>) -> Result<ExperimentConfig, CliError> {
    Ok(ExperimentConfig {
        quick: false,
        seed: globals.seed,
        backend: globals.backend()?,
        progress: bar.clone(),
    })
}

fn symmetry_cmd(a: &SymmetryArgs, globals: &Globals) -> CmdResult {
    let params = SymmetryParams::new()
        .hidden(a.hidden)
        .samples(a.samples)
        .steps(a.steps)
        .lr(a.lr)
        .constant(a.constant)
        .check()
        .map_err(bad)?;
    let bar = std::sync::Arc::new(Bar::new("symmetry", globals.json || globals.quiet));
    let runs = symmetry::run(&params, &config(globals, &bar)?).map_err(bad)?;
    bar.finish();
    let pairs = params.hidden() * (params.hidden() - 1) / 2;
    let mut human = String::new();
    let rows: Vec<_> = runs
        .iter()
        .map(|r| {
            let identical = r.identical_pairs.iter().all(|&p| p == pairs) && r.final_max_distance == 0.0;
            human.push_str(&format!(
                "{:<15} accuracy {:.3}  weight rank {}  unit rank {}  max unit distance {:.3e}  identical every step: {}\n",
                r.init, r.test_accuracy, r.final_weight_rank, r.final_unit_rank, r.final_max_distance, identical
            ));
            json!({
                "init": r.init,
                "test_accuracy": r.test_accuracy,
                "final_weight_rank": r.final_weight_rank,
                "final_unit_rank": r.final_unit_rank,
                "final_max_distance": r.final_max_distance,
                "identical_every_step": identical,
                "max_grad_rank": r.grad_rank.iter().max(),
                "final_loss": r.loss.last(),
            })
        })
        .collect();
    Ok(Output::new(
        json!({ "hidden": params.hidden(), "steps": params.steps(), "runs": rows }),
        human,
    ))
}

fn game_cmd(a: &GameArgs, globals: &Globals) -> CmdResult {
    let algorithm: GameAlgorithm = a.algorithm.parse().map_err(bad)?;
    let clip = match (a.clip_norm, a.clip_value) {
        (Some(c), _) => Clip::Norm(c),
        (None, Some(c)) => Clip::Value(c),
        (None, None) => Clip::None,
    };
    let params = GameParams::new()
        .algorithm(algorithm)
        .lr(a.lr)
        .steps(a.steps)
        .clip(clip)
        .check()
        .map_err(bad)?;
    let game = Game::new(bilinear, 1, 1, globals.backend()?)
        .and_then(|g| g.with_equilibrium(Point::new(vec![0.0], vec![0.0])))
        .map_err(bad)?;
    let start = Point::new(vec![a.x0], vec![a.y0]);
    let jac = game.jacobian(&start, 1e-3).map_err(bad)?;
    let t = GameRunner::new(params).run(&game, start).map_err(bad)?;
    let path: Vec<(f64, f64)> = t.points.iter().map(|p| (p.x[0], p.y[0])).collect();
    let winding = winding_turns(&path, (0.0, 0.0));
    let d0 = t.distances.first().copied().unwrap_or(f64::NAN);
    let d = t.final_distance().unwrap_or(f64::NAN);
    let max_step = t
        .step_norm_x
        .iter()
        .chain(&t.step_norm_y)
        .fold(0.0f64, |m, v| m.max(*v));
    let clipped = t.clipped.iter().filter(|c| **c).count();
    let last = t
        .last()
        .cloned()
        .unwrap_or_else(|| Point::new(vec![], vec![]));
    let eig: Vec<_> = jac
        .eigenvalues
        .iter()
        .map(|e| json!({"re": e.re, "im": e.im}))
        .collect();
    let json = json!({
        "game": "x*y",
        "algorithm": algorithm.name(),
        "lr": a.lr,
        "steps": a.steps,
        "clip": match clip { Clip::None => json!(null), Clip::Norm(c) => json!({"norm": c}), Clip::Value(c) => json!({"value": c}) },
        "start_distance": d0,
        "final_distance": d,
        "final_point": [last.x.first(), last.y.first()],
        "winding_turns": winding,
        "max_player_step": max_step,
        "clipped_steps": clipped,
        "jacobian_eigenvalues": eig,
        "jacobian_rotation": jac.rotation,
    });
    let human = format!(
        "x*y, {} (lr {}, {} steps, clip {:?}): distance to (0, 0) {:.4} -> {:.4}, {:.2} turns, \
         largest player step {:.3e}, clipping acted on {} steps\nJacobian eigenvalues at the \
         start: {}; rotation share {:.3}",
        algorithm.name(),
        a.lr,
        a.steps,
        clip,
        d0,
        d,
        winding,
        max_step,
        clipped,
        jac.eigenvalues
            .iter()
            .map(|e| format!("{:+.3}{:+.3}i", e.re, e.im))
            .collect::<Vec<_>>()
            .join(", "),
        jac.rotation
    );
    Ok(Output::new(json, human))
}

fn ood_cmd(a: &OodArgs, globals: &Globals) -> CmdResult {
    let params = OodParams::new()
        .train(a.train)
        .test(a.test)
        .length(a.length)
        .spurious(a.spurious)
        .noise(a.noise)
        .cnn_steps(a.cnn_steps)
        .mech_steps(a.mech_steps)
        .mech_restarts(a.mech_restarts)
        .mech_init_sd(a.mech_init_sd)
        .check()
        .map_err(bad)?;
    let bar = std::sync::Arc::new(Bar::new("ood", globals.json || globals.quiet));
    let o = ood::run(&params, &config(globals, &bar)?).map_err(bad)?;
    bar.finish();
    let json = json!({
        "id_r2_network": o.id_r2_network,
        "ood_r2_network": o.ood_r2_network,
        "id_r2_mechanistic": o.id_r2_mechanistic,
        "ood_r2_mechanistic": o.ood_r2_mechanistic,
        "id_r2_truth": o.id_r2_truth,
        "ood_r2_truth": o.ood_r2_truth,
        "train_gc_correlation": o.train_gc_correlation,
        "ood_gc_correlation": o.ood_gc_correlation,
        "energy_error": o.energy_error,
    });
    let human = format!(
        "R^2           in-dist  out-of-dist\nCNN           {:>7.3}  {:>11.3}\nthermodynamic {:>7.3}  {:>11.3}\nground truth  {:>7.3}  {:>11.3}\nGC-activity correlation: train {:+.2}, shifted test {:+.2}; fitted PWM within {:.2} kT",
        o.id_r2_network,
        o.ood_r2_network,
        o.id_r2_mechanistic,
        o.ood_r2_mechanistic,
        o.id_r2_truth,
        o.ood_r2_truth,
        o.train_gc_correlation,
        o.ood_gc_correlation,
        o.energy_error
    );
    Ok(Output::new(json, human))
}

/// Runs the subcommand.
pub fn run(args: &Args, globals: &Globals) -> CmdResult {
    match &args.command {
        DynamicsCommand::Symmetry(a) => symmetry_cmd(a, globals),
        DynamicsCommand::Game(a) => game_cmd(a, globals),
        DynamicsCommand::Ood(a) => ood_cmd(a, globals),
    }
}
