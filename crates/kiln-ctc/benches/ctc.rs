//! CTC speed: loss forward+backward (kiln host recursions vs Burn's CTCLoss on flex, same run)
//! and prefix beam search.
//!
//! `cargo bench -p kiln-ctc` (or `cargo xtask bench ctc`).
//! The beam-search input is also written to target/ctc-bench/ for
//! `benches/fast_ctc_decode_bench.py` (fast-ctc-decode and pyctcdecode on the same frames).

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_core::burn::nn::loss::CTCLossConfig;
use kiln_core::burn::tensor::activation::log_softmax;
use kiln_core::burn::tensor::{Int, Tensor, TensorData};
use kiln_core::{Autodiff, BackendKind, Precision, convert, device, seed};
use kiln_ctc::{
    Alphabet, BeamSearch, BeamSearchParams, CtcLoss, CtcLossParams, InputKind, Targets,
};
use rand::RngExt;

const B: usize = 32;
const T: usize = 500;
const C: usize = 29;
const S: usize = 100;

fn data() -> (Vec<f32>, Vec<i64>) {
    let mut rng = seed::rng(7);
    let logits: Vec<f32> = (0..T * B * C)
        .map(|_| rng.random_range(-2.0f32..2.0))
        .collect();
    let targets: Vec<i64> = (0..B * S).map(|_| rng.random_range(1..C as i64)).collect();
    (logits, targets)
}

fn loss(c: &mut Criterion) {
    let (logits, labels) = data();
    let lengths = vec![S as i64; B];
    let input_lengths = vec![T as i64; B];
    let targets = Targets::padded(labels.clone(), S, lengths.clone());
    let mut g = c.benchmark_group("ctc_loss_fwd_bwd_B32_T500_C29_S100_f32");
    g.sample_size(10);

    let host = CtcLoss::new(
        CtcLossParams::new()
            .input(InputKind::Logits)
            .check()
            .unwrap(),
    );
    g.bench_function("kiln_host_slices", |b| {
        b.iter(|| {
            host.compute(&logits, [T, B, C], &targets, &input_lengths, true)
                .unwrap()
        })
    });

    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let lp_loss = CtcLoss::new(CtcLossParams::new().check().unwrap());
    g.bench_function("kiln_burn_autodiff_flex", |b| {
        b.iter(|| {
            let x = convert::tensor_f32(&logits, [T, B, C], &dev)
                .unwrap()
                .require_grad();
            let l = lp_loss
                .forward(log_softmax(x.clone(), 2), &targets, &input_lengths)
                .unwrap();
            x.grad(&l.backward()).unwrap()
        })
    });

    let burn_op = CTCLossConfig::new().init();
    g.bench_function("burn_ctcloss_flex", |b| {
        b.iter(|| {
            let x = convert::tensor_f32(&logits, [T, B, C], &dev)
                .unwrap()
                .require_grad();
            let tg = Tensor::<2, Int>::from_data(TensorData::new(labels.clone(), [B, S]), &dev);
            let il = Tensor::<1, Int>::from_data(TensorData::new(input_lengths.clone(), [B]), &dev);
            let tl = Tensor::<1, Int>::from_data(TensorData::new(lengths.clone(), [B]), &dev);
            let l = burn_op
                .forward(log_softmax(x.clone(), 2), tg, il, tl)
                .mean();
            x.grad(&l.backward()).unwrap()
        })
    });
    g.finish();
}

fn beam(c: &mut Criterion) {
    let t = 1000;
    let mut rng = seed::rng(11);
    // Peaky frames like a trained model's: one class dominates each frame.
    let mut lp = Vec::with_capacity(t * C);
    for _ in 0..t {
        let top = rng.random_range(0..C);
        let mut row: Vec<f64> = (0..C)
            .map(|k| {
                if k == top {
                    3.0
                } else {
                    rng.random_range(-1.0..1.0)
                }
            })
            .collect();
        kiln_ctc::lse::log_softmax_in_place(&mut row);
        lp.extend(row);
    }
    let alphabet = Alphabet::from_chars("_ abcdefghijklmnopqrstuvwxyz'", 0).unwrap();
    let search = BeamSearch::new(
        BeamSearchParams::new(alphabet.clone())
            .beam_width(32)
            .check()
            .unwrap(),
    );
    let no_cut = BeamSearch::new(
        BeamSearchParams::new(alphabet.clone())
            .beam_width(32)
            .min_log_prob(f64::NEG_INFINITY)
            .check()
            .unwrap(),
    );
    let best = search.decode(&lp, t).unwrap()[0].text(&alphabet).unwrap();
    export_for_fast_ctc_decode(&lp, t, &best);
    let mut g = c.benchmark_group("ctc_beam_search_T1000_C29_beam32");
    g.sample_size(10);
    g.bench_function("kiln_prefix_beam", |b| {
        b.iter(|| search.decode(&lp, t).unwrap())
    });
    g.bench_function("kiln_prefix_beam_no_class_cut", |b| {
        b.iter(|| no_cut.decode(&lp, t).unwrap())
    });
    g.finish();
}

/// Writes the beam-search input as `[T, C]` f32 probabilities (.npy) and kiln's best
/// transcript to target/ctc-bench/, for benches/fast_ctc_decode_bench.py.
fn export_for_fast_ctc_decode(lp: &[f64], t: usize, best: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ctc-bench");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let mut header =
            format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({t}, {C}), }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        for &v in lp {
            bytes.extend((v.exp() as f32).to_le_bytes());
        }
        std::fs::write(dir.join("beam_probs_T1000_C29.npy"), bytes)?;
        std::fs::write(dir.join("beam_kiln_best.txt"), best)
    };
    if let Err(e) = write() {
        eprintln!("could not export the beam-search input: {e}");
    }
}

criterion_group!(benches, loss, beam);
criterion_main!(benches);
