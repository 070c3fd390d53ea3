//! Criterion benches: RDP queries and noise calibrations (Poisson and fixed-size batches),
//! PLD queries of 10^4 steps and a PLD calibration. `cargo bench -p kiln-privacy` (or, without
//! a release build of Burn: `cargo bench -p kiln-privacy --profile dev --bench privacy --
//! --warm-up-time 1 --measurement-time 3`). The same queries in
//! dp_accounting are timed by `benches/dp_accounting_timing.py`, the PRV queries in
//! prv_accountant 0.2 by `benches/prv_accountant_timing.py`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_privacy::calibrate::{CalibrationParams, Unknown, calibrate};
use kiln_privacy::{AccountantKind, BatchSampling, Ledger, epsilon};

fn benches(c: &mut Criterion) {
    let ledger = Ledger::steps(&BatchSampling::poisson(0.01), 1.1, 10_000).unwrap();
    c.bench_function("rdp_query_q0.01_s1.1_1e4", |b| {
        b.iter(|| epsilon(AccountantKind::Rdp, black_box(&ledger), 1e-5).unwrap())
    });
    c.bench_function("rdp_calibrate_eps1_q0.01_1e4", |b| {
        b.iter(|| {
            calibrate(
                &CalibrationParams::new(Unknown::NoiseMultiplier)
                    .accountant(AccountantKind::Rdp)
                    .sampling(BatchSampling::poisson(0.01))
                    .steps(10_000)
                    .delta(1e-5)
                    .target_epsilon(1.0)
                    .tolerance(1e-4)
                    .check()
                    .unwrap(),
            )
            .unwrap()
        })
    });
    let wor = BatchSampling::WithoutReplacement {
        dataset_size: 60_000,
        batch_size: 256,
    };
    let wor_ledger = Ledger::steps(&wor, 1.1, 1_000).unwrap();
    c.bench_function("rdp_wor_query_n60000_m256_s1.1_1e3", |b| {
        b.iter(|| epsilon(AccountantKind::Rdp, black_box(&wor_ledger), 1e-5).unwrap())
    });
    c.bench_function("rdp_wor_calibrate_eps1_n60000_m256_1e3", |b| {
        b.iter(|| {
            calibrate(
                &CalibrationParams::new(Unknown::NoiseMultiplier)
                    .accountant(AccountantKind::Rdp)
                    .sampling(*black_box(&wor))
                    .steps(1_000)
                    .delta(1e-5)
                    .target_epsilon(1.0)
                    .tolerance(1e-4)
                    .check()
                    .unwrap(),
            )
            .unwrap()
        })
    });
    let mut g = c.benchmark_group("pld");
    g.sample_size(10);
    g.bench_function("pld_query_q0.01_s1.1_1e4", |b| {
        b.iter(|| epsilon(AccountantKind::Pld, black_box(&ledger), 1e-5).unwrap())
    });
    let abadi = Ledger::steps(&BatchSampling::poisson(0.01), 4.0, 10_000).unwrap();
    g.bench_function("pld_query_q0.01_s4_1e4", |b| {
        b.iter(|| epsilon(AccountantKind::Pld, black_box(&abadi), 1e-5).unwrap())
    });
    g.bench_function("pld_calibrate_eps1_q0.01_1e4", |b| {
        b.iter(|| {
            calibrate(
                &CalibrationParams::new(Unknown::NoiseMultiplier)
                    .accountant(AccountantKind::Pld)
                    .sampling(BatchSampling::poisson(0.01))
                    .steps(10_000)
                    .delta(1e-5)
                    .target_epsilon(1.0)
                    .tolerance(1e-3)
                    .check()
                    .unwrap(),
            )
            .unwrap()
        })
    });
    g.finish();
    // PRV (certified bracket), the same queries as benches/prv_accountant_timing.py.
    let mut g = c.benchmark_group("prv");
    g.sample_size(10);
    let prv = kiln_privacy::PrvParams::new().check().unwrap();
    g.bench_function("prv_query_q0.01_s1.1_1e4", |b| {
        b.iter(|| prv.epsilon(black_box(&ledger), 1e-5).unwrap())
    });
    g.bench_function("prv_query_q0.01_s4_1e4", |b| {
        b.iter(|| prv.epsilon(black_box(&abadi), 1e-5).unwrap())
    });
    let prv_cal = CalibrationParams::new(Unknown::NoiseMultiplier)
        .accountant(AccountantKind::Prv)
        .sampling(BatchSampling::poisson(0.01))
        .steps(10_000)
        .delta(1e-5)
        .target_epsilon(1.0)
        .tolerance(1e-3)
        .check()
        .unwrap();
    g.bench_function("prv_calibrate_eps1_q0.01_1e4", |b| {
        b.iter(|| calibrate(black_box(&prv_cal)).unwrap())
    });
    g.finish();
}

criterion_group!(privacy, benches);
criterion_main!(privacy);
