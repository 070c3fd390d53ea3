//! Parameters, validated once (linfa style): an unchecked `XxxParams` with builder setters ->
//! `check()` -> `XxxValidParams` (private fields, getters, only made by `check()`), which the
//! algorithms and experiments accept.

use serde::{Deserialize, Serialize};

use crate::errors::{DynamicsError, Result};

fn positive(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(DynamicsError::invalid(name, v, "must be finite and > 0"))
    }
}

fn at_least(name: &str, v: usize, min: usize) -> Result<()> {
    if v >= min {
        Ok(())
    } else {
        Err(DynamicsError::invalid(
            name,
            v,
            &format!("must be >= {min}"),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Redundancy (symmetry breaking)
// ---------------------------------------------------------------------------------------------

/// Unchecked settings of [`crate::symmetry::redundancy`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RedundancyParams {
    rank_rtol: Option<f64>,
}

impl RedundancyParams {
    /// Default: the numerical rank counts singular values above
    /// `max(neurons, fan_in) * f32::EPSILON * sigma_max` (NumPy's `matrix_rank` rule for f32
    /// weights, which is what Burn layers hold here).
    pub fn new() -> Self {
        Self::default()
    }
    /// Relative tolerance of the numerical rank: singular values `<= rtol * sigma_max` count
    /// as zero.
    pub fn rank_rtol(mut self, rtol: f64) -> Self {
        self.rank_rtol = Some(rtol);
        self
    }
    /// Validates the settings.
    pub fn check(self) -> Result<RedundancyValidParams> {
        if let Some(r) = self.rank_rtol
            && !(r.is_finite() && (0.0..1.0).contains(&r))
        {
            return Err(DynamicsError::invalid("rank_rtol", r, "must be in [0, 1)"));
        }
        Ok(RedundancyValidParams {
            rank_rtol: self.rank_rtol,
        })
    }
}

/// Checked settings of [`crate::symmetry::redundancy`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RedundancyValidParams {
    rank_rtol: Option<f64>,
}

impl RedundancyValidParams {
    /// Relative rank tolerance for a `rows x cols` matrix.
    pub fn rank_rtol(&self, rows: usize, cols: usize) -> f64 {
        self.rank_rtol
            .unwrap_or(rows.max(cols) as f64 * f32::EPSILON as f64)
    }
}

// ---------------------------------------------------------------------------------------------
// Min-max games
// ---------------------------------------------------------------------------------------------

/// The update rule of a two-player game `min_x max_y f(x, y)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GameAlgorithm {
    /// Simultaneous gradient descent-ascent: `x' = x - lr_x gx(x, y)`, `y' = y + lr_y gy(x, y)`.
    /// On `f = x y` each step multiplies the distance to (0, 0) by `sqrt(1 + lr^2)`: it spirals
    /// out (the GAN literature's standard example, e.g. Mescheder et al. 2017).
    #[default]
    Simultaneous,
    /// Alternating GDA: `x' = x - lr_x gx(x, y)`, then `y' = y + lr_y gy(x', y)` (Gauss-Seidel);
    /// on `x y` it stays on a bounded orbit for `lr < 2` (Gidel et al. 2019).
    Alternating,
    /// Extragradient (Korpelevich 1976): a look-ahead half step
    /// `(x~, y~) = (x - lr_x gx, y + lr_y gy)`, then the update from the gradients at the
    /// look-ahead: `x' = x - lr_x gx(x~, y~)`, `y' = y + lr_y gy(x~, y~)`. Converges on
    /// bilinear games (factor `sqrt(1 - lr^2 + lr^4)` per step on `x y`).
    Extragradient,
    /// Optimistic GDA (Daskalakis et al. 2018): `x' = x - lr_x (2 gx_t - gx_{t-1})`, same for
    /// `y` with `+`; the first step is plain GDA.
    Optimistic,
}

impl GameAlgorithm {
    /// Every rule, in report order.
    pub const ALL: [GameAlgorithm; 4] = [
        GameAlgorithm::Simultaneous,
        GameAlgorithm::Alternating,
        GameAlgorithm::Extragradient,
        GameAlgorithm::Optimistic,
    ];

    /// Command-line name.
    pub fn name(&self) -> &'static str {
        match self {
            GameAlgorithm::Simultaneous => "gda",
            GameAlgorithm::Alternating => "alternating",
            GameAlgorithm::Extragradient => "extragradient",
            GameAlgorithm::Optimistic => "optimistic",
        }
    }
}

impl std::str::FromStr for GameAlgorithm {
    type Err = DynamicsError;
    fn from_str(s: &str) -> Result<Self> {
        GameAlgorithm::ALL
            .into_iter()
            .find(|a| a.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                DynamicsError::invalid(
                    "algorithm",
                    s,
                    "expected gda, alternating, extragradient or optimistic",
                )
            })
    }
}

/// Gradient clipping, applied to each player's gradient before the step.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clip {
    /// No clipping.
    #[default]
    None,
    /// Clip by value: every component to `[-c, c]` (PyTorch `clip_grad_value_`). The step of
    /// each coordinate is then at most `lr * c`.
    Value(f64),
    /// Clip by norm: a player's gradient `g` becomes `g * min(1, c / ||g||_2)` (PyTorch
    /// `clip_grad_norm_` with one group per player). The step of a player is then at most
    /// `lr * c` in L2 norm.
    Norm(f64),
}

/// Unchecked settings of [`crate::game::GameRunner`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GameParams {
    algorithm: GameAlgorithm,
    lr_min: f64,
    lr_max: f64,
    steps: usize,
    clip: Clip,
    record_every: usize,
}

impl Default for GameParams {
    fn default() -> Self {
        Self::new()
    }
}

impl GameParams {
    /// Defaults: simultaneous GDA, learning rate 0.1 for both players, 100 steps, no clipping,
    /// every iterate recorded.
    pub fn new() -> Self {
        Self {
            algorithm: GameAlgorithm::Simultaneous,
            lr_min: 0.1,
            lr_max: 0.1,
            steps: 100,
            clip: Clip::None,
            record_every: 1,
        }
    }
    /// The update rule.
    pub fn algorithm(mut self, algorithm: GameAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }
    /// The same learning rate for both players.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr_min = lr;
        self.lr_max = lr;
        self
    }
    /// Learning rate of the minimizing player `x`.
    pub fn lr_min_player(mut self, lr: f64) -> Self {
        self.lr_min = lr;
        self
    }
    /// Learning rate of the maximizing player `y`.
    pub fn lr_max_player(mut self, lr: f64) -> Self {
        self.lr_max = lr;
        self
    }
    /// Number of updates.
    pub fn steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }
    /// Gradient clipping.
    pub fn clip(mut self, clip: Clip) -> Self {
        self.clip = clip;
        self
    }
    /// Record the iterate every `k` steps (the first and last are always recorded).
    pub fn record_every(mut self, k: usize) -> Self {
        self.record_every = k;
        self
    }
    /// Validates the settings.
    pub fn check(self) -> Result<GameValidParams> {
        positive("lr_min", self.lr_min)?;
        positive("lr_max", self.lr_max)?;
        at_least("steps", self.steps, 1)?;
        at_least("record_every", self.record_every, 1)?;
        match self.clip {
            Clip::Value(c) => positive("clip_value", c)?,
            Clip::Norm(c) => positive("clip_norm", c)?,
            Clip::None => {}
        }
        Ok(GameValidParams {
            algorithm: self.algorithm,
            lr_min: self.lr_min,
            lr_max: self.lr_max,
            steps: self.steps,
            clip: self.clip,
            record_every: self.record_every,
        })
    }
}

/// Checked settings of [`crate::game::GameRunner`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GameValidParams {
    algorithm: GameAlgorithm,
    lr_min: f64,
    lr_max: f64,
    steps: usize,
    clip: Clip,
    record_every: usize,
}

impl GameValidParams {
    /// The update rule.
    pub fn algorithm(&self) -> GameAlgorithm {
        self.algorithm
    }
    /// Learning rate of the minimizing player.
    pub fn lr_min_player(&self) -> f64 {
        self.lr_min
    }
    /// Learning rate of the maximizing player.
    pub fn lr_max_player(&self) -> f64 {
        self.lr_max
    }
    /// Number of updates.
    pub fn steps(&self) -> usize {
        self.steps
    }
    /// Gradient clipping.
    pub fn clip(&self) -> Clip {
        self.clip
    }
    /// Recording interval.
    pub fn record_every(&self) -> usize {
        self.record_every
    }
}

// ---------------------------------------------------------------------------------------------
// Thermodynamic promoter model
// ---------------------------------------------------------------------------------------------

/// How binding-site Boltzmann weights become promoter occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Occupancy {
    /// One factor binds at most one site at a time (Shea & Ackers 1985; Bintu et al. 2005):
    /// with site weights `w_p = exp(mu - E_p)` (energies in kT), `theta = W / (1 + W)`,
    /// `W = sum_p w_p`.
    #[default]
    Boltzmann,
    /// Hill form with cooperativity `n`: `theta = W^n / (1 + W^n)`.
    Hill(f64),
}

/// Unchecked settings of the fit in [`crate::thermo::ThermoModel::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThermoFitParams {
    motif_width: usize,
    occupancy: Occupancy,
    lr: f64,
    steps: usize,
    init_sd: f64,
    seed: u64,
    restarts: usize,
}

impl Default for ThermoFitParams {
    fn default() -> Self {
        Self::new()
    }
}

impl ThermoFitParams {
    /// Defaults: motif width 6, Boltzmann occupancy, Adam (PyTorch betas/epsilon 1e-8) with
    /// learning rate 0.05, 1500 full-batch steps on the mean squared error, 1 restart, energies
    /// initialized N(0, 1) kT from seed 0 (a random start breaks the symmetry between motif
    /// positions, which an all-zero start gives identical gradients up to edge effects).
    pub fn new() -> Self {
        Self {
            motif_width: 6,
            occupancy: Occupancy::Boltzmann,
            lr: 0.05,
            steps: 1500,
            init_sd: 1.0,
            seed: 0,
            restarts: 1,
        }
    }
    /// Independent fits from different initial energies; the lowest final loss wins.
    pub fn restarts(mut self, k: usize) -> Self {
        self.restarts = k;
        self
    }
    /// Standard deviation (kT) of the initial energies. No scale is safe on its own: small
    /// starts (0.1-0.3 kT) settled on a GC-preferring local optimum in the out-of-distribution
    /// experiment, and a 1 kT start missed the planted PWM of `tests/thermo.rs`; use
    /// [`restarts`](Self::restarts).
    pub fn init_sd(mut self, sd: f64) -> Self {
        self.init_sd = sd;
        self
    }
    /// Seed of the initial energies.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Width of the position weight matrix (bases).
    pub fn motif_width(mut self, w: usize) -> Self {
        self.motif_width = w;
        self
    }
    /// Occupancy form.
    pub fn occupancy(mut self, occupancy: Occupancy) -> Self {
        self.occupancy = occupancy;
        self
    }
    /// Adam learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }
    /// Number of full-batch Adam steps.
    pub fn steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }
    /// Validates the settings.
    pub fn check(self) -> Result<ThermoFitValidParams> {
        at_least("motif_width", self.motif_width, 1)?;
        positive("lr", self.lr)?;
        at_least("steps", self.steps, 1)?;
        if let Occupancy::Hill(n) = self.occupancy {
            positive("hill_n", n)?;
        }
        at_least("restarts", self.restarts, 1)?;
        if !(self.init_sd.is_finite() && self.init_sd >= 0.0) {
            return Err(DynamicsError::invalid(
                "init_sd",
                self.init_sd,
                "must be finite and >= 0",
            ));
        }
        Ok(ThermoFitValidParams {
            motif_width: self.motif_width,
            occupancy: self.occupancy,
            lr: self.lr,
            steps: self.steps,
            init_sd: self.init_sd,
            seed: self.seed,
            restarts: self.restarts,
        })
    }
}

/// Checked settings of the thermodynamic-model fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ThermoFitValidParams {
    motif_width: usize,
    occupancy: Occupancy,
    lr: f64,
    steps: usize,
    init_sd: f64,
    seed: u64,
    restarts: usize,
}

impl ThermoFitValidParams {
    /// Motif width.
    pub fn motif_width(&self) -> usize {
        self.motif_width
    }
    /// Occupancy form.
    pub fn occupancy(&self) -> Occupancy {
        self.occupancy
    }
    /// Adam learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }
    /// Number of steps.
    pub fn steps(&self) -> usize {
        self.steps
    }
    /// Standard deviation of the initial energies.
    pub fn init_sd(&self) -> f64 {
        self.init_sd
    }
    /// Seed of the initial energies.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Number of restarts.
    pub fn restarts(&self) -> usize {
        self.restarts
    }
}

// ---------------------------------------------------------------------------------------------
// Experiments
// ---------------------------------------------------------------------------------------------

/// Unchecked settings of the symmetry-breaking experiment ([`crate::experiment::symmetry`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SymmetryParams {
    hidden: usize,
    samples: usize,
    steps: usize,
    lr: f64,
    constant: f64,
}

impl SymmetryParams {
    /// Full-run defaults: 16 tanh hidden units, 400 points of two concentric rings, 600
    /// full-batch SGD steps at lr 0.5, constant init value 0.3.
    pub fn new() -> Self {
        Self {
            hidden: 16,
            samples: 400,
            steps: 600,
            lr: 0.5,
            constant: 0.3,
        }
    }
    /// The `--quick` sizes: 8 hidden units, 128 points, 40 steps.
    pub fn quick() -> Self {
        Self {
            hidden: 8,
            samples: 128,
            steps: 40,
            ..Self::new()
        }
    }
    /// Hidden units.
    pub fn hidden(mut self, n: usize) -> Self {
        self.hidden = n;
        self
    }
    /// Training points.
    pub fn samples(mut self, n: usize) -> Self {
        self.samples = n;
        self
    }
    /// SGD steps.
    pub fn steps(mut self, n: usize) -> Self {
        self.steps = n;
        self
    }
    /// SGD learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }
    /// Value of every weight and bias under the constant initializer.
    pub fn constant(mut self, c: f64) -> Self {
        self.constant = c;
        self
    }
    /// Validates the settings.
    pub fn check(self) -> Result<SymmetryValidParams> {
        at_least("hidden", self.hidden, 2)?;
        at_least("samples", self.samples, 4)?;
        at_least("steps", self.steps, 1)?;
        positive("lr", self.lr)?;
        if !self.constant.is_finite() || self.constant == 0.0 {
            return Err(DynamicsError::invalid(
                "constant",
                self.constant,
                "must be finite and non-zero (all-zero rows have rank 0, not 1)",
            ));
        }
        Ok(SymmetryValidParams(self))
    }
}

impl Default for SymmetryParams {
    fn default() -> Self {
        Self::new()
    }
}

/// Checked settings of the symmetry-breaking experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SymmetryValidParams(SymmetryParams);

impl SymmetryValidParams {
    /// Hidden units.
    pub fn hidden(&self) -> usize {
        self.0.hidden
    }
    /// Training points.
    pub fn samples(&self) -> usize {
        self.0.samples
    }
    /// SGD steps.
    pub fn steps(&self) -> usize {
        self.0.steps
    }
    /// Learning rate.
    pub fn lr(&self) -> f64 {
        self.0.lr
    }
    /// Constant init value.
    pub fn constant(&self) -> f64 {
        self.0.constant
    }
}

/// Unchecked settings of the min-max experiment ([`crate::experiment::games`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GamesParams {
    steps: usize,
    lr: f64,
    clip_norms: Vec<f64>,
    start: [f64; 2],
    gan_steps: usize,
    gan_lr: f64,
    gan_clip_norm: f64,
}

impl GamesParams {
    /// Full-run defaults: `x y` from (1, 1), lr 0.1, 500 steps, norm-clipping thresholds
    /// 1, 0.3, 0.1, 0.03; GAN: 2000 steps at lr 0.05, clip norm 1.
    pub fn new() -> Self {
        Self {
            steps: 500,
            lr: 0.1,
            clip_norms: vec![1.0, 0.3, 0.1, 0.03],
            start: [1.0, 1.0],
            gan_steps: 2000,
            gan_lr: 0.05,
            gan_clip_norm: 1.0,
        }
    }
    /// The `--quick` sizes: 100 steps on `x y`, 60 GAN steps.
    pub fn quick() -> Self {
        Self {
            steps: 100,
            gan_steps: 60,
            ..Self::new()
        }
    }
    /// Steps on `x y`.
    pub fn steps(mut self, n: usize) -> Self {
        self.steps = n;
        self
    }
    /// Learning rate on `x y` (both players).
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }
    /// Norm-clipping thresholds compared on `x y`; the first is the one reported as
    /// `gda_clipped_final_distance`.
    pub fn clip_norms(mut self, c: Vec<f64>) -> Self {
        self.clip_norms = c;
        self
    }
    /// Starting point `(x0, y0)` on `x y`.
    pub fn start(mut self, start: [f64; 2]) -> Self {
        self.start = start;
        self
    }
    /// GAN steps.
    pub fn gan_steps(mut self, n: usize) -> Self {
        self.gan_steps = n;
        self
    }
    /// GAN learning rate (both players).
    pub fn gan_lr(mut self, lr: f64) -> Self {
        self.gan_lr = lr;
        self
    }
    /// GAN norm-clipping threshold.
    pub fn gan_clip_norm(mut self, c: f64) -> Self {
        self.gan_clip_norm = c;
        self
    }
    /// Validates the settings.
    pub fn check(self) -> Result<GamesValidParams> {
        at_least("steps", self.steps, 1)?;
        positive("lr", self.lr)?;
        if self.clip_norms.is_empty() {
            return Err(DynamicsError::invalid(
                "clip_norms",
                "[]",
                "need at least one threshold",
            ));
        }
        for c in &self.clip_norms {
            positive("clip_norm", *c)?;
        }
        for (name, v) in [("x0", self.start[0]), ("y0", self.start[1])] {
            if !v.is_finite() {
                return Err(DynamicsError::invalid(name, v, "must be finite"));
            }
        }
        if self.start == [0.0, 0.0] {
            return Err(DynamicsError::invalid(
                "start",
                "(0, 0)",
                "the equilibrium itself: nothing to watch",
            ));
        }
        at_least("gan_steps", self.gan_steps, 1)?;
        positive("gan_lr", self.gan_lr)?;
        positive("gan_clip_norm", self.gan_clip_norm)?;
        Ok(GamesValidParams(self))
    }
}

impl Default for GamesParams {
    fn default() -> Self {
        Self::new()
    }
}

/// Checked settings of the min-max experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GamesValidParams(GamesParams);

impl GamesValidParams {
    /// Steps on `x y`.
    pub fn steps(&self) -> usize {
        self.0.steps
    }
    /// Learning rate on `x y`.
    pub fn lr(&self) -> f64 {
        self.0.lr
    }
    /// Norm-clipping thresholds.
    pub fn clip_norms(&self) -> &[f64] {
        &self.0.clip_norms
    }
    /// Starting point.
    pub fn start(&self) -> [f64; 2] {
        self.0.start
    }
    /// GAN steps.
    pub fn gan_steps(&self) -> usize {
        self.0.gan_steps
    }
    /// GAN learning rate.
    pub fn gan_lr(&self) -> f64 {
        self.0.gan_lr
    }
    /// GAN clip threshold.
    pub fn gan_clip_norm(&self) -> f64 {
        self.0.gan_clip_norm
    }
}

/// Unchecked settings of the out-of-distribution experiment ([`crate::experiment::ood`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OodParams {
    train: usize,
    test: usize,
    length: usize,
    spurious: f64,
    noise: f64,
    cnn_steps: usize,
    mech_steps: usize,
    mech_restarts: usize,
    mech_init_sd: f64,
}

impl OodParams {
    /// Full-run defaults: 2000 training and 1000 test sequences of length 40, GC shortcut
    /// strength 0.8, label noise sd 0.02, 600 CNN steps, 800 thermodynamic-model steps from
    /// each of 6 random starts with energies N(0, 1) kT (the lowest training loss wins).
    pub fn new() -> Self {
        Self {
            train: 2000,
            test: 1000,
            length: 40,
            spurious: 0.8,
            noise: 0.02,
            cnn_steps: 600,
            mech_steps: 800,
            mech_restarts: 6,
            mech_init_sd: 1.0,
        }
    }
    /// The `--quick` sizes: 256 / 128 sequences, 40 CNN steps, 2 x 60 model steps.
    pub fn quick() -> Self {
        Self {
            train: 256,
            test: 128,
            cnn_steps: 40,
            mech_steps: 60,
            mech_restarts: 2,
            ..Self::new()
        }
    }
    /// Training sequences.
    pub fn train(mut self, n: usize) -> Self {
        self.train = n;
        self
    }
    /// Test sequences per test set.
    pub fn test(mut self, n: usize) -> Self {
        self.test = n;
        self
    }
    /// Sequence length (bases).
    pub fn length(mut self, n: usize) -> Self {
        self.length = n;
        self
    }
    /// Strength of the GC shortcut in `[0, 1)`: the training background's GC fraction is
    /// `0.5 + 0.3 * spurious * (2 q - 1)` for a sequence whose planted site has quality `q` in
    /// `[0, 1]` (1 = consensus); the out-of-distribution set uses the opposite sign.
    pub fn spurious(mut self, s: f64) -> Self {
        self.spurious = s;
        self
    }
    /// Standard deviation of Gaussian label noise.
    pub fn noise(mut self, sd: f64) -> Self {
        self.noise = sd;
        self
    }
    /// Adam steps of the CNN.
    pub fn cnn_steps(mut self, n: usize) -> Self {
        self.cnn_steps = n;
        self
    }
    /// Adam steps of the thermodynamic model.
    pub fn mech_steps(mut self, n: usize) -> Self {
        self.mech_steps = n;
        self
    }
    /// Random starts of the thermodynamic-model fit.
    pub fn mech_restarts(mut self, n: usize) -> Self {
        self.mech_restarts = n;
        self
    }
    /// Standard deviation (kT) of the thermodynamic model's initial energies.
    pub fn mech_init_sd(mut self, sd: f64) -> Self {
        self.mech_init_sd = sd;
        self
    }
    /// Validates the settings.
    pub fn check(self) -> Result<OodValidParams> {
        at_least("train", self.train, 8)?;
        at_least("test", self.test, 8)?;
        at_least(
            "length",
            self.length,
            crate::experiment::ood::MOTIF_WIDTH + 2,
        )?;
        if !(self.spurious.is_finite() && (0.0..1.0).contains(&self.spurious)) {
            return Err(DynamicsError::invalid(
                "spurious",
                self.spurious,
                "must be in [0, 1)",
            ));
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(DynamicsError::invalid(
                "noise",
                self.noise,
                "must be finite and >= 0",
            ));
        }
        at_least("cnn_steps", self.cnn_steps, 1)?;
        at_least("mech_steps", self.mech_steps, 1)?;
        at_least("mech_restarts", self.mech_restarts, 1)?;
        if !(self.mech_init_sd.is_finite() && self.mech_init_sd >= 0.0) {
            return Err(DynamicsError::invalid(
                "mech_init_sd",
                self.mech_init_sd,
                "must be finite and >= 0",
            ));
        }
        Ok(OodValidParams(self))
    }
}

impl Default for OodParams {
    fn default() -> Self {
        Self::new()
    }
}

/// Checked settings of the out-of-distribution experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OodValidParams(OodParams);

impl OodValidParams {
    /// Training sequences.
    pub fn train(&self) -> usize {
        self.0.train
    }
    /// Test sequences per set.
    pub fn test(&self) -> usize {
        self.0.test
    }
    /// Sequence length.
    pub fn length(&self) -> usize {
        self.0.length
    }
    /// GC shortcut strength.
    pub fn spurious(&self) -> f64 {
        self.0.spurious
    }
    /// Label noise.
    pub fn noise(&self) -> f64 {
        self.0.noise
    }
    /// CNN steps.
    pub fn cnn_steps(&self) -> usize {
        self.0.cnn_steps
    }
    /// Thermodynamic-model steps.
    pub fn mech_steps(&self) -> usize {
        self.0.mech_steps
    }
    /// Thermodynamic-model restarts.
    pub fn mech_restarts(&self) -> usize {
        self.0.mech_restarts
    }
    /// Standard deviation of the initial energies.
    pub fn mech_init_sd(&self) -> f64 {
        self.0.mech_init_sd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_its_error() {
        assert!(GameParams::new().lr(0.0).check().is_err());
        assert!(GameParams::new().lr_max_player(f64::NAN).check().is_err());
        assert!(GameParams::new().steps(0).check().is_err());
        assert!(GameParams::new().record_every(0).check().is_err());
        assert!(GameParams::new().clip(Clip::Norm(-1.0)).check().is_err());
        assert!(GameParams::new().clip(Clip::Value(0.0)).check().is_err());
        assert!(GameParams::new().check().is_ok());
        assert!(RedundancyParams::new().rank_rtol(1.5).check().is_err());
        assert!(ThermoFitParams::new().motif_width(0).check().is_err());
        assert!(
            ThermoFitParams::new()
                .occupancy(Occupancy::Hill(0.0))
                .check()
                .is_err()
        );
        assert!(ThermoFitParams::new().lr(-1.0).check().is_err());
        assert!(SymmetryParams::new().hidden(1).check().is_err());
        assert!(SymmetryParams::new().constant(0.0).check().is_err());
        assert!(GamesParams::new().clip_norms(vec![]).check().is_err());
        assert!(GamesParams::new().start([0.0, 0.0]).check().is_err());
        assert!(
            GamesParams::new()
                .start([f64::INFINITY, 0.0])
                .check()
                .is_err()
        );
        assert!(OodParams::new().spurious(1.0).check().is_err());
        assert!(OodParams::new().length(3).check().is_err());
        assert!(OodParams::new().noise(-0.1).check().is_err());
        let e = GameParams::new().lr(-2.0).check().unwrap_err().to_string();
        assert!(e.contains("lr_min") && e.contains("-2"), "{e}");
        assert!("nope".parse::<GameAlgorithm>().is_err());
        assert_eq!(
            "extragradient".parse::<GameAlgorithm>().unwrap(),
            GameAlgorithm::Extragradient
        );
    }
}
