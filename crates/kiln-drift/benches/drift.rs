//! Updates per second of every detector on the same stream as `benches/river_bench.py`: the
//! 100 000 N(0,1) samples of `tests/data/gauss_nodrift.npy` (binary detectors: `x > 1.2816`,
//! an error rate near 0.1), default settings; KSWIN on the first 20 000 samples.
//!
//! `cargo bench -p kiln-drift --bench drift --profile dev -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln_drift::{AnyDetector, Detector, DetectorKind};

fn streams() -> (Vec<f64>, Vec<f64>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gauss_nodrift.npy");
    let real = kiln_core::io::read_npy(path).expect("bench stream").data;
    let binary = real
        .iter()
        .map(|&x| f64::from(u8::from(x > 1.2816)))
        .collect();
    (real, binary)
}

fn updates(c: &mut Criterion) {
    let (real, binary) = streams();
    let mut group = c.benchmark_group("updates");
    for kind in DetectorKind::ALL {
        let xs: &[f64] = match kind {
            DetectorKind::Ddm | DetectorKind::Eddm | DetectorKind::HddmA | DetectorKind::HddmW => {
                &binary
            }
            DetectorKind::Kswin => &real[..20_000],
            _ => &real,
        };
        group.throughput(Throughput::Elements(xs.len() as u64));
        group.sample_size(10);
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                let mut d = AnyDetector::build(kind, &[]).expect("defaults are valid");
                let mut fired = 0usize;
                for &x in xs {
                    if d.update(black_box(x)).expect("finite") == kiln_drift::Signal::Drift {
                        fired += 1;
                    }
                }
                fired
            })
        });
    }
    group.finish();
}

criterion_group!(benches, updates);
criterion_main!(benches);
