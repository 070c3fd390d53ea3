//! Part 1: an MLP (2 -> hidden tanh -> 2) trained by full-batch SGD on two concentric rings,
//! from a constant initialization and from Burn's random initializers, with the same data and
//! steps. Every step records the redundancy of the hidden units (incoming weights, bias and
//! outgoing weights) and the rank of the hidden layer's weight gradient.

use kiln_core::burn;
use kiln_core::burn::module::{Module, Param};
use kiln_core::burn::nn::{Initializer, Linear};
use kiln_core::burn::optim::{GradientsParams, SgdConfig};
use kiln_core::burn::tensor::activation::log_softmax;
use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::{Autodiff, ExperimentConfig, Precision, convert};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use crate::errors::Result;
use crate::hyperparams::{RedundancyParams, SymmetryValidParams};
use crate::symmetry::{NeuronMatrix, redundancy};

/// The MLP: `second(tanh(first(x)))`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Input -> hidden.
    pub first: Linear,
    /// Hidden -> classes.
    pub second: Linear,
}

fn layer(init: &Initializer, fan_in: usize, fan_out: usize, dev: &Device) -> Linear {
    let weight = init.init_with([fan_in, fan_out], Some(fan_in), Some(fan_out), dev);
    // Constant init sets the bias to the same constant (a fully symmetric start); random
    // initializers get a zero bias (the weights alone break the symmetry).
    let bias = match init {
        Initializer::Constant { value } => Tensor::full([fan_out], *value, dev),
        _ => Tensor::zeros([fan_out], dev),
    };
    Linear {
        weight,
        bias: Some(Param::from_tensor(bias)),
    }
}

impl Mlp {
    /// An MLP `inputs -> hidden -> classes` with both layers drawn by `init` (Burn's RNG).
    pub fn new(
        init: &Initializer,
        inputs: usize,
        hidden: usize,
        classes: usize,
        dev: &Device,
    ) -> Self {
        Self {
            first: layer(init, inputs, hidden, dev),
            second: layer(init, hidden, classes, dev),
        }
    }

    /// Class logits `[N, classes]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.second.forward(self.first.forward(x).tanh())
    }
}

/// Two concentric noisy rings (radius 0.5 -> class 0, radius 1.2 -> class 1), `n` points:
/// features row-major `[n, 2]` and labels.
pub fn rings(n: usize, rng: &mut impl Rng) -> (Vec<f32>, Vec<usize>) {
    let noise = Normal::new(0.0, 0.12).expect("constant sd");
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 2;
        let r = if class == 0 { 0.5 } else { 1.2 } + noise.sample(rng);
        let a = rng.random_range(0.0..std::f64::consts::TAU);
        x.push((r * a.cos()) as f32);
        x.push((r * a.sin()) as f32);
        y.push(class);
    }
    (x, y)
}

/// What one training run recorded, per step (before each update) and at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SymmetryRun {
    /// Initializer name.
    pub init: String,
    /// Per step: smallest distance between two hidden units' parameter vectors.
    pub min_distance: Vec<f64>,
    /// Per step: largest such distance (exactly 0: all units bit-identical).
    pub max_distance: Vec<f64>,
    /// Per step: number of bit-identical pairs of hidden units.
    pub identical_pairs: Vec<usize>,
    /// Per step: numerical rank of the hidden units' parameter vectors.
    pub unit_rank: Vec<usize>,
    /// Per step: numerical rank of the hidden layer's weight gradient (one row per unit).
    pub grad_rank: Vec<usize>,
    /// Per step: training loss (cross-entropy).
    pub loss: Vec<f64>,
    /// Rank of the hidden layer's weight rows after training (`hidden x inputs`).
    pub final_weight_rank: usize,
    /// Rank of the hidden units' full parameter vectors after training.
    pub final_unit_rank: usize,
    /// Largest distance between hidden units after training.
    pub final_max_distance: f64,
    /// Accuracy on held-out points.
    pub test_accuracy: f64,
}

/// The initializers trained by the experiment (name, Burn initializer).
pub fn trained_initializers(constant: f64) -> Vec<(&'static str, Initializer)> {
    vec![
        ("constant", Initializer::Constant { value: constant }),
        ("xavier_uniform", Initializer::XavierUniform { gain: 1.0 }),
        (
            "kaiming_normal",
            Initializer::KaimingNormal {
                gain: std::f64::consts::SQRT_2,
                fan_out_only: false,
            },
        ),
        ("orthogonal", Initializer::Orthogonal { gain: 1.0 }),
    ]
}

fn accuracy(model: &Mlp, x: &[f32], y: &[usize], dev: &Device) -> Result<f64> {
    let logits = convert::to_vec_f64(&model.forward(convert::tensor_f32(x, [y.len(), 2], dev)?))?;
    let correct = y
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            let (a, b) = (logits[2 * i], logits[2 * i + 1]);
            (if b > a { 1 } else { 0 }) == **c
        })
        .count();
    Ok(correct as f64 / y.len() as f64)
}

/// Trains one MLP per initializer and records its symmetry statistics.
pub fn run(params: &SymmetryValidParams, config: &ExperimentConfig) -> Result<Vec<SymmetryRun>> {
    let dev = kiln_core::device(config.backend, Autodiff::On, Precision::F32)?;
    let (x, y) = rings(
        params.samples(),
        &mut kiln_core::seed::rng_stream(config.seed, 10),
    );
    let (tx, ty) = rings(1000, &mut kiln_core::seed::rng_stream(config.seed, 11));
    let n = y.len();
    let onehot: Vec<f32> = y
        .iter()
        .flat_map(|&c| if c == 0 { [1.0, 0.0] } else { [0.0, 1.0] })
        .collect();
    let xt = convert::tensor_f32(&x, [n, 2], &dev)?;
    let yt = convert::tensor_f32(&onehot, [n, 2], &dev)?;
    let red = RedundancyParams::new().check()?;
    let mut runs = Vec::new();
    for (i, (name, init)) in trained_initializers(params.constant())
        .into_iter()
        .enumerate()
    {
        config.progress.message(&format!("symmetry: {name} init"));
        kiln_core::seed::seed(&dev, config.seed.wrapping_add(i as u64));
        let mut model = Mlp::new(&init, 2, params.hidden(), 2, &dev);
        let mut optim = SgdConfig::new().init();
        let mut run = SymmetryRun {
            init: name.to_string(),
            min_distance: Vec::new(),
            max_distance: Vec::new(),
            identical_pairs: Vec::new(),
            unit_rank: Vec::new(),
            grad_rank: Vec::new(),
            loss: Vec::new(),
            final_weight_rank: 0,
            final_unit_rank: 0,
            final_max_distance: 0.0,
            test_accuracy: 0.0,
        };
        for _ in 0..params.steps() {
            let units = redundancy(
                &NeuronMatrix::hidden_units(&model.first, &model.second)?,
                &red,
            );
            let logp = log_softmax(model.forward(xt.clone()), 1);
            let loss = (logp * yt.clone()).sum().neg().div_scalar(n as f64);
            run.loss.push(convert::scalar_f64(&loss)?);
            let grads = loss.backward();
            if let Some(g) = model.first.weight.val().grad(&grads) {
                run.grad_rank
                    .push(redundancy(&NeuronMatrix::from_burn_weight(&g)?, &red).rank);
            }
            run.min_distance.push(units.min_distance);
            run.max_distance.push(units.max_distance);
            run.identical_pairs.push(units.identical_pairs);
            run.unit_rank.push(units.rank);
            let grads = GradientsParams::from_grads(grads, &model);
            model = optim.step(params.lr(), model, grads);
            config.progress.inc(1);
        }
        let units = redundancy(
            &NeuronMatrix::hidden_units(&model.first, &model.second)?,
            &red,
        );
        run.final_unit_rank = units.rank;
        run.final_max_distance = units.max_distance;
        run.final_weight_rank = redundancy(
            &NeuronMatrix::from_burn_weight(&model.first.weight.val())?,
            &red,
        )
        .rank;
        run.test_accuracy = accuracy(&model, &tx, &ty, &dev)?;
        runs.push(run);
    }
    Ok(runs)
}
