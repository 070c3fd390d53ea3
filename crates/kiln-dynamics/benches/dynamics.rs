//! kiln-dynamics speed: one step of gradient play (x y and the experiment's GAN, f64 autodiff)
//! and ten full-batch Adam steps of the thermodynamic-model fit (f32).
//!
//! `cargo bench -p kiln-dynamics --bench dynamics -- --warm-up-time 1 --measurement-time 3`;
//! the PyTorch side: `/work/venvs/torch/bin/python crates/kiln-dynamics/benches/torch_dynamics_bench.py`
//! (same inputs: both sides build them from the same integer formulas below).

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_core::burn::tensor::Tensor;
use kiln_core::experiment::NoProgress;
use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_dynamics::experiment::games::{GAN_PARAMS, gan_value};
use kiln_dynamics::{
    Game, GameAlgorithm, GameParams, GameRunner, Point, Sequences, ThermoFitParams, ThermoModel,
    bilinear,
};

/// Deterministic pseudo-random value in [0, 1) from an index (same formula in the Python script).
fn hash01(i: u64) -> f64 {
    let v = i
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((v >> 33) % 1_000_003) as f64 / 1_000_003.0
}

fn games(c: &mut Criterion) {
    let mut g = c.benchmark_group("game_step");
    let xy = Game::new(bilinear, 1, 1, BackendKind::Flex).unwrap();
    for alg in [GameAlgorithm::Simultaneous, GameAlgorithm::Extragradient] {
        let runner = GameRunner::new(
            GameParams::new()
                .algorithm(alg)
                .lr(0.1)
                .steps(1)
                .check()
                .unwrap(),
        );
        g.bench_function(format!("xy_{}_f64", alg.name()), |b| {
            b.iter(|| runner.run(&xy, Point::new(vec![1.0], vec![1.0])).unwrap())
        });
    }
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let n = 256;
    let real: Vec<f64> = (0..n as u64).map(|i| 4.0 * hash01(i) - 2.0).collect();
    let z: Vec<f64> = (0..n as u64)
        .map(|i| 4.0 * hash01(i + 1000) - 2.0)
        .collect();
    let real_t = convert::tensor_f64(&real, [n, 1], &dev).unwrap();
    let z_t = convert::tensor_f64(&z, [n, 1], &dev).unwrap();
    let gan = Game::new(
        move |gp: Tensor<1>, dp: Tensor<1>| gan_value(gp, dp, real_t.clone(), z_t.clone()),
        GAN_PARAMS,
        GAN_PARAMS,
        BackendKind::Flex,
    )
    .unwrap();
    let start = Point::new(
        (0..GAN_PARAMS as u64)
            .map(|i| hash01(i + 2000) - 0.5)
            .collect(),
        (0..GAN_PARAMS as u64)
            .map(|i| hash01(i + 3000) - 0.5)
            .collect(),
    );
    let runner = GameRunner::new(GameParams::new().lr(0.05).steps(1).check().unwrap());
    g.bench_function("gan_gda_batch256_h16_f64", |b| {
        b.iter(|| runner.run(&gan, start.clone()).unwrap())
    });
    g.finish();
}

fn thermo(c: &mut Criterion) {
    let (n, l, w) = (2000usize, 40usize, 6usize);
    let codes: Vec<u8> = (0..(n * l) as u64)
        .map(|i| (hash01(i) * 4.0) as u8)
        .collect();
    let seqs = Sequences::from_codes(codes, l).unwrap();
    let y: Vec<f64> = (0..n as u64).map(|i| 0.1 + 0.8 * hash01(i + 7)).collect();
    let params = ThermoFitParams::new()
        .motif_width(w)
        .steps(10)
        .init_sd(0.0)
        .check()
        .unwrap();
    let mut g = c.benchmark_group("thermo_fit");
    g.sample_size(10);
    g.bench_function("adam10_n2000_l40_w6_f32", |b| {
        b.iter(|| ThermoModel::fit(&seqs, &y, &params, BackendKind::Flex, &NoProgress).unwrap())
    });
    g.finish();
}

criterion_group!(benches, games, thermo);
criterion_main!(benches);
