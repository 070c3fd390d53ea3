//! Forward + backward of soft Dice (softmax, MONAI defaults) on logits [8, 4, 128, 128] f32 on
//! the flex backend: the fused path from a class map and from a prepared target, and the Burn
//! tensor-op path (`forward_composite`); plus Generalized Dice and Dice+CE (MONAI defaults)
//! from the class map (`monai_dice_bench.py --loss gdl` / `--loss dice-ce` is MONAI's side). Compare with `monai_dice_bench.py` (same tensors: this
//! bench writes them to `$TMPDIR/kiln_losses_bench_{logits,labels}.npy` first). Threads:
//! `RAYON_NUM_THREADS`. The README's Speed section has the numbers and the allocator settings.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo bench -p kiln-losses --profile dev --bench dice -- --warm-up-time 1 --measurement-time 3
//! /work/venvs/torch/bin/python crates/kiln-losses/benches/monai_dice_bench.py --threads 1
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_core::burn::tensor::Tensor;
use kiln_core::{Autodiff, BackendKind, Precision, convert, device, io};
use kiln_losses::{GdlWeight, LossKind, SegLoss, SegLossParams, SegTarget};
use rand::{RngExt, SeedableRng};

const DIMS: [usize; 4] = [8, 4, 128, 128];

fn bench(c: &mut Criterion) {
    let [b, ch, h, w] = DIMS;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let logits: Vec<f32> = (0..b * ch * h * w)
        .map(|_| rng.random_range(-3.0..3.0))
        .collect();
    let labels: Vec<i64> = (0..b * h * w)
        .map(|_| rng.random_range(0..ch as i64))
        .collect();
    let dir = std::env::temp_dir();
    io::write_npy_f32(dir.join("kiln_losses_bench_logits.npy"), &logits, &DIMS).unwrap();
    io::write_npy_i64(
        dir.join("kiln_losses_bench_labels.npy"),
        &labels,
        &[b, h, w],
    )
    .unwrap();

    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let loss = SegLoss::from_params(&SegLossParams::default()).unwrap();
    let target = SegTarget::indices(labels, [b, h, w]);
    let x = convert::tensor_f32(&logits, DIMS, &dev).unwrap();
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    let mut group = c.benchmark_group(format!("dice_softmax_8x4x128x128_threads_{threads}"));
    group.sample_size(10);
    // One timed call: a fresh leaf on the logits' storage, the loss, `backward()`, one element
    // of the gradient read back (flex is eager: the whole gradient is computed).
    let fwd_bwd = |loss_of: &dyn Fn(Tensor<4>) -> Tensor<1>| {
        let xi = x.clone().detach().require_grad();
        let value = loss_of(xi.clone());
        let g = xi.grad(&value.backward()).unwrap();
        convert::to_vec_f32(&g.slice([0..1, 0..1, 0..1, 0..1])).unwrap()
    };
    // Everything MONAI's call does: the class map (checked; the fused path reads the labels
    // directly instead of one-hot encoding them), softmax, counts, backward.
    group.bench_function("forward_backward_from_class_map", |bench| {
        bench.iter(|| fwd_bwd(&|xi| loss.forward(xi, &target).unwrap()))
    });
    // Generalized Dice (MONAI's defaults: square weights, per image), same call shape; MONAI's
    // side: `monai_dice_bench.py --loss gdl`.
    let gdl = SegLoss::from_params(&SegLossParams::new(LossKind::GeneralizedDice {
        weight: GdlWeight::Square,
    }))
    .unwrap();
    group.bench_function(
        "generalized_dice_forward_backward_from_class_map",
        |bench| bench.iter(|| fwd_bwd(&|xi| gdl.forward(xi, &target).unwrap())),
    );
    // Dice + cross-entropy (MONAI DiceCELoss defaults: both weights 1); MONAI's side:
    // `monai_dice_bench.py --loss dice-ce`.
    let dice_ce = SegLoss::from_params(&SegLossParams::new(LossKind::DiceCe {
        lambda_dice: 1.0,
        lambda_ce: 1.0,
    }))
    .unwrap();
    group.bench_function("dice_ce_forward_backward_from_class_map", |bench| {
        bench.iter(|| fwd_bwd(&|xi| dice_ce.forward(xi, &target).unwrap()))
    });
    // With the target prepared once (label checks and one-hot outside the loop).
    let prepared = loss.prepare(&target, &x).unwrap();
    group.bench_function("forward_backward_prepared_target", |bench| {
        bench.iter(|| fwd_bwd(&|xi| loss.forward_prepared(xi, &prepared).unwrap()))
    });
    // The Burn tensor-op path (what other backends run), for comparison.
    group.bench_function("forward_backward_composite_prepared_target", |bench| {
        bench.iter(|| fwd_bwd(&|xi| loss.forward_composite(xi, &prepared).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
