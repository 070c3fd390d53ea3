//! Criterion benches: one loss + gradient evaluation of the Burgers loss (Burn path in f32 and
//! f64, fused plain-Rust path in f64), and Poisson 1D trained to relative L2 <= 1e-3 (the
//! issue's speed goal: at most a third of DeepXDE's ~10 s).

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_core::experiment::NoProgress;
use kiln_core::{BackendKind, Precision};
use kiln_pinn::{Pinn, PinnParams, ProblemKind, ProblemOptions, solve};

fn jet_forward_backward(c: &mut Criterion) {
    let mut group = c.benchmark_group("pinn");
    group.sample_size(10);
    for precision in [Precision::F32, Precision::F64] {
        let params = PinnParams::new()
            .hidden(vec![32, 32, 32, 32])
            .n_collocation(4000)
            .precision(precision)
            .check()
            .unwrap();
        let problem = ProblemKind::Burgers
            .build(&ProblemOptions::default(), 0)
            .unwrap();
        let pinn = Pinn::new(problem, &params, BackendKind::Flex).unwrap();
        let theta = pinn.theta().to_vec();
        group.bench_function(
            format!("burgers_loss_and_grad_4000pts_4x32_burn_{precision}"),
            |b| b.iter(|| pinn.loss().value_and_grad_burn(&theta).unwrap()),
        );
        if precision == Precision::F64 {
            group.bench_function("burgers_loss_and_grad_4000pts_4x32_fused_f64", |b| {
                b.iter(|| pinn.loss().value_and_grad_fused(&theta).unwrap())
            });
        }
    }
    let params = kiln_pinn::presets::recommended(ProblemKind::Poisson1d)
        .check()
        .unwrap();
    group.bench_function("poisson1d_preset_to_1e-3", |b| {
        b.iter(|| {
            let (r, _) = solve(
                ProblemKind::Poisson1d,
                &ProblemOptions::default(),
                &params,
                BackendKind::Flex,
                &NoProgress,
            )
            .unwrap();
            assert!(r.l2_relative_error <= 1e-3);
        })
    });
    group.finish();
}

criterion_group!(benches, jet_forward_backward);
criterion_main!(benches);
