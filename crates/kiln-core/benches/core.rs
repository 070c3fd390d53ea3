//! Costs of the shared layer that every area pays: host <-> tensor conversion and `.npy` reads.

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_core::{Autodiff, BackendKind, Precision, convert, device, io};

fn conversion(c: &mut Criterion) {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let values: Vec<f32> = (0..1 << 16).map(|i| i as f32).collect();
    c.bench_function("convert/f32_roundtrip_64k", |b| {
        b.iter(|| {
            let t = convert::tensor_f32(&values, [256, 256], &dev).unwrap();
            convert::to_vec_f32(&t).unwrap()
        })
    });
}

fn npy(c: &mut Criterion) {
    let dir = std::env::temp_dir().join("kiln-core-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.npy");
    let data: Vec<f64> = (0..1 << 16).map(|i| i as f64).collect();
    io::write_npy_f64(&path, &data, &[256, 256]).unwrap();
    c.bench_function("io/read_npy_f64_64k", |b| {
        b.iter(|| io::read_npy(&path).unwrap())
    });
}

criterion_group!(benches, conversion, npy);
criterion_main!(benches);
